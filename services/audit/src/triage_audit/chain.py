"""The hash chain, as pure functions: what is hashed, and how.

hash(n) = sha256( hash(n-1) || canonical_json(fields of row n) ), hex-encoded; the first
row of a team links to GENESIS (64 zeros). Canonical JSON: sorted keys, no whitespace,
UTF-8, timestamps as ISO-8601 UTC with microseconds, floats as Python's repr (what
`json.dumps` writes). An auditor can recompute every hash from an export with these rules.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64

# The stored fields covered by the hash: everything except the row id and the hashes.
HASHED_FIELDS = (
    "team_id", "seq", "message_id", "run_id", "service", "kind", "action", "actor",
    "outcome", "detail", "cost_usd", "created_at", "recorded_at",
)


@dataclass(frozen=True)
class ChainError:
    """Where verification first failed, and why (`reason` is a stable machine word)."""

    seq: int
    # chain: hash_mismatch | broken_link | gap | duplicate_seq | head_mismatch
    # anchor: bad_signature | anchor_mismatch | truncated | team_deleted
    reason: str
    message: str


def as_utc(value: datetime) -> datetime:
    """Aware UTC; a naive timestamp is taken to be UTC already (what every service sends)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: datetime) -> str:
    return as_utc(value).isoformat(timespec="microseconds")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    return value


def canonical_json(fields: dict[str, Any]) -> str:
    missing = set(HASHED_FIELDS) - fields.keys()
    if missing:
        raise ValueError(f"canonical form lacks {sorted(missing)}")
    data = {name: _jsonable(fields[name]) for name in HASHED_FIELDS}
    # allow_nan=False: NaN has no canonical JSON form, so it must never be hashed.
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def link_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode("utf-8")).hexdigest()
