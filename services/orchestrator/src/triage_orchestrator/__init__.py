"""The orchestrator: the heart of the triage agent.

Every Slack request becomes a durable run: a state machine, defined by the workflow spec
and the matching skill, whose state lives in a JetStream KV bucket. Deciding (the pure
`engine`) is kept apart from doing (`effects`), so a crashed or redelivered step is
replayed from state instead of being performed twice.
"""
