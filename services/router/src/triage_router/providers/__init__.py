"""Model providers behind one protocol: the router tries targets without knowing vendors."""
