"""Chaos mode of the dev stack: a page, served by the `triage-dev` process itself (the only
one that can stop and start its children), that shows the running architecture and kills
or restarts a service on request."""
