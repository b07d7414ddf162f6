"""The hash rules as documented, checked against an independent re-implementation."""

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from triage_audit.chain import GENESIS, HASHED_FIELDS, canonical_json, link_hash


def fields(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "team_id": "T1", "seq": 1, "message_id": "m1", "run_id": "r1", "service": "tools",
        "kind": "tool_call", "action": "github.search_issues", "actor": "U1", "outcome": "ok",
        "detail": {"b": [1, 2.5], "a": "é"}, "cost_usd": 0.1,
        "created_at": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        "recorded_at": datetime(2025, 1, 2, 3, 4, 6, 7, tzinfo=UTC),
    }
    base.update(overrides)
    return base


def test_canonical_form_is_sorted_compact_with_iso_utc_timestamps() -> None:
    text = canonical_json(fields())
    assert text.startswith('{"action":"github.search_issues","actor":"U1","cost_usd":0.1,')
    assert '"created_at":"2025-01-02T03:04:05.000000+00:00"' in text
    assert '"detail":{"a":"é","b":[1,2.5]}' in text
    assert " " not in text.replace("github.search_issues", "")


def test_hash_matches_an_independent_implementation() -> None:
    data = fields()
    independent = json.dumps(
        {k: (v.isoformat(timespec="microseconds") if isinstance(v, datetime) else v)
         for k, v in data.items()}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    expected = hashlib.sha256((GENESIS + independent).encode()).hexdigest()
    assert link_hash(GENESIS, data) == expected
    assert GENESIS == "0" * 64


def test_the_same_instant_in_another_offset_hashes_the_same() -> None:
    plus_two = timezone(timedelta(hours=2))
    moved = fields(created_at=datetime(2025, 1, 2, 5, 4, 5, tzinfo=plus_two))
    assert link_hash(GENESIS, moved) == link_hash(GENESIS, fields())


@pytest.mark.parametrize("name", HASHED_FIELDS)
def test_every_stored_field_is_covered_by_the_hash(name: str) -> None:
    original = fields()
    changed = dict(original)
    value = original[name]
    if isinstance(value, datetime):
        changed[name] = value + timedelta(microseconds=1)
    elif isinstance(value, str):
        changed[name] = value + "x"
    elif isinstance(value, dict):
        changed[name] = {**value, "a": "e"}
    else:
        changed[name] = value + 1
    assert link_hash(GENESIS, changed) != link_hash(GENESIS, original)
    assert link_hash("1" * 64, original) != link_hash(GENESIS, original)


def test_nan_cannot_be_hashed() -> None:
    with pytest.raises(ValueError):
        canonical_json(fields(cost_usd=float("nan")))
