"""Clients of outside systems the approval service reads (the proxy's JWKS)."""
