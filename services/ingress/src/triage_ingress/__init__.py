"""Slack's edge of the triage agent, in both directions.

Inbound, it verifies every Slack request (signature, age, size), turns mentions, DMs and
`/triage` commands into a `TriageRequest`, and answers Slack only once JetStream holds the
request (Slack retries are dropped by the stream's duplicate window, keyed by event id).
Outbound, the notifier posts the orchestrator's replies with slack-sdk, never twice for the
same run step. Both roles share one package so Slack is spoken in exactly one service.
"""
