"""Worlds: what the GitHub, Prometheus and Alertmanager stand-ins serve, as data.

`load_world(name_or_path)` reads a world file (schema in `schema.py`); `demo` is the
default story and `oncall` extends it (see the files' headers)."""

from .load import WorldError, load_world, read_spec, resolve, world_path
from .model import World

__all__ = ["World", "WorldError", "load_world", "read_spec", "resolve", "world_path"]
