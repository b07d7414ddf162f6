"""Approval service: a human decides, before anything is written to the outside world.

Every write the agent proposes (a GitHub comment, a CI re-run, a post outside the thread)
waits here as a pending approval. An authorised person, never the requester (four-eyes),
sees the exact effect with its evidence and approves or rejects it; the decision is signed
with this service's Ed25519 grant key (over the action digest, the team and a signed
expiry) so the tools service, which holds public keys only, performs exactly what was
approved, once. Unanswered approvals expire.
"""
