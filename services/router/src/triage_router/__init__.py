"""The model router: the one service that talks to language models.

The orchestrator asks for a *route* ("agent", "classify"), never a vendor or a model. This
service maps the route to an ordered list of targets, falls back when a target fails, keeps
failing targets out with a circuit breaker, enforces a daily budget per workspace, and
accounts tokens and cost. With no model key configured everything runs on a deterministic
offline provider, so the whole agent works (and is testable) without any vendor.
"""
