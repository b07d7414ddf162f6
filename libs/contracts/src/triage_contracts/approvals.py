"""Binding an approval to exactly one action: a canonical digest of the action and an
HMAC over the decision. The approval service signs; the tools service verifies."""

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any


def action_digest(tool: str, arguments: dict[str, Any], run_id: str, team_id: str) -> str:
    canonical = json.dumps(
        {"tool": tool, "arguments": arguments, "run_id": run_id, "team_id": team_id},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _payload(approval_id: str, digest: str, decision: str, approver: str, at: datetime) -> bytes:
    return "\x1f".join([approval_id, digest, decision, approver, at.isoformat()]).encode()


def sign_decision(
    key: str, approval_id: str, digest: str, decision: str, approver: str, at: datetime
) -> str:
    payload = _payload(approval_id, digest, decision, approver, at)
    return hmac.new(key.encode(), payload, hashlib.sha256).hexdigest()


def verify_decision(
    key: str, signature: str, approval_id: str, digest: str, decision: str, approver: str,
    at: datetime,
) -> bool:
    expected = sign_decision(key, approval_id, digest, decision, approver, at)
    return hmac.compare_digest(expected, signature)
