"""The embedded default: one command runs the whole stack on one machine, with clearly
labelled sandbox stand-ins (Slack Web API, GitHub REST API, Prometheus HTTP API) for every
outside system that has no credentials configured. Development and tests only: no service
imports this package."""
