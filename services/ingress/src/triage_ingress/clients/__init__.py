"""The only modules of the ingress that call third parties over the network."""
