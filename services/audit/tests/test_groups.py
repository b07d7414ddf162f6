"""Appending in groups (one transaction, one head update per team): the same chain as one
by one, duplicates stored once, and a group that fails stores nothing."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from triage_audit.queries import events
from triage_audit.store import AuditStore
from triage_audit.verify import verify_team
from triage_contracts.errors import PermanentError
from triage_contracts.messages import AuditEvent

Factory = Callable[..., AuditEvent]
Sql = Callable[..., list[Any]]
LINK = ("team_id", "seq", "message_id", "prev_hash", "hash")


def chains(store: AuditStore) -> list[tuple[Any, ...]]:
    return [tuple(row[k] for k in LINK) for team in ("TA", "TB")
            for row in events(store.engine, team)]


def test_a_chain_built_in_groups_equals_the_one_built_singly(
    store: AuditStore, event_factory: Factory, sql: Sql
) -> None:
    store.clock = lambda: datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    batch = [event_factory(team="TA" if i % 3 else "TB", action=f"a{i}") for i in range(20)]
    for event in batch:
        store.append(event)
    singly = chains(store)
    sql("DELETE FROM audit_events")
    sql("DELETE FROM audit_heads")

    results = store.append_many(batch[:7]) + store.append_many(batch[7:])

    assert chains(store) == singly
    assert [r.seq for r in results if r.team_id == "TA"] == list(range(1, 14))
    assert not any(r.duplicate for r in results)
    assert verify_team(store.engine, "TA").ok and verify_team(store.engine, "TB").ok
    heads = dict(sql("SELECT team_id, hash FROM audit_heads"))
    assert heads == {"TA": singly[12][4], "TB": singly[-1][4]}


def test_a_group_stores_each_message_id_once(
    store: AuditStore, event_factory: Factory, sql: Sql
) -> None:
    stored, fresh = event_factory(action="before"), event_factory(action="fresh")
    first = store.append(stored)
    results = store.append_many([stored, fresh, fresh])
    assert [(r.seq, r.duplicate) for r in results] == [(1, True), (2, False), (2, True)]
    assert results[0].hash == first.hash and results[2].hash == results[1].hash
    assert sql("SELECT count(*) FROM audit_events") == [(2,)]
    assert verify_team(store.engine, "T1").ok


def test_a_group_that_fails_stores_nothing(
    store: AuditStore, event_factory: Factory, sql: Sql
) -> None:
    store.append(event_factory(action="kept"))
    poison = event_factory(action="poison").model_copy(update={"cost_usd": float("nan")})
    with pytest.raises(PermanentError, match="no canonical form"):
        store.append_many([event_factory(action="a"), poison, event_factory(action="b")])
    assert [r["action"] for r in events(store.engine, "T1")] == ["kept"]
    assert sql("SELECT seq FROM audit_heads") == [(1,)]
