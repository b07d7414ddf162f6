"""The only modules of the operator that do network I/O to third parties (Kubernetes)."""
