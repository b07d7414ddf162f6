"""Binding an approval to exactly one action: a canonical digest of the action. The signed
grant that carries the digest is `grants.py`."""

import hashlib
import json
from typing import Any


def action_digest(tool: str, arguments: dict[str, Any], run_id: str, team_id: str) -> str:
    canonical = json.dumps(
        {"tool": tool, "arguments": arguments, "run_id": run_id, "team_id": team_id},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
