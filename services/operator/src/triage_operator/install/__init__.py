"""The install controller: Slack installs drive deployment.

The ingress announces each install and removal on INSTALLS (`messages.InstallEvent`); this
small consumer, opt-in and separate from the kopf operator (its own process, NATS identity
and Kubernetes RBAC: create, delete and patch Workspaces in one namespace), creates the
team's `Workspace` from a template on an install and deletes it on a removal. The operator
then does the rest, as for a Workspace written by hand. Only Workspaces it created (by
label) are ever deleted; one written by hand for the same team is left alone and the
conflict reported. `python -m triage_operator.install` runs it.
"""
