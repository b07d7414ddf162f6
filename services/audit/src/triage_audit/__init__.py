"""The audit service: the tamper-evident record of everything the agent did.

Every service publishes AuditEvents on `triage.audit.<team>.<service>`; this service appends
them to a per-workspace SHA-256 hash chain in SQL (SQLite embedded, PostgreSQL in production),
so that a changed, deleted or reordered row is detectable by `verify`. Signed checkpoints in
write-once sinks outside the database (anchor.py, checkpointer.py, sinks.py) make a rewritten
and recomputed, truncated or deleted chain detectable too. It also answers auditors'
questions over HTTP (events, run timelines with cost) and exports the chain.
"""
