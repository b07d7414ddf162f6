"""The fault suite: the whole stack on a 3-node JetStream cluster (R3 streams and buckets,
fsync before ack, two replicas of each worker), a steady load of signed Slack mentions,
and bounded faults on a schedule (a NATS node, the stream leader first, SIGKILLed and
restarted, or frozen with SIGSTOP as a partition stand-in; each service SIGKILLed and
restarted; Slack answering 503 or slowly; GitHub answering 502, its quota spent or its
secondary limit hit; the model answering past the router's timeout; the audit database
locked by another writer). What it judges comes only from what the stand-ins recorded (Slack
messages, GitHub comments), the approvals decided and the audit service's own chain
verification, never from the services' logs.

`python -m triage_sandbox.faults` runs the full schedule and writes docs/reliability.md;
tests/chaos runs a reduced schedule with the same parts."""
