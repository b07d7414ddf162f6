"""Connectors: the only modules of the tools service that do network I/O to third parties."""
