"""Appending on SQLite and PostgreSQL: order, idempotency, per-team chains, no forks under
concurrent writers, redaction at rest, outages as temporary errors."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from triage_audit.chain import GENESIS
from triage_audit.queries import events, teams
from triage_audit.store import AuditStore
from triage_audit.verify import verify_team
from triage_contracts.errors import PermanentError, TemporaryError
from triage_contracts.messages import AuditEvent
from triage_contracts.testing.natsserver import free_port

Factory = Callable[..., AuditEvent]
Sql = Callable[..., list[Any]]


def test_events_are_chained_in_order(store: AuditStore, event_factory: Factory) -> None:
    for i in range(5):
        appended = store.append(event_factory(action=f"a{i}", cost_usd=0.25))
        assert (appended.seq, appended.duplicate) == (i + 1, False)
    rows = events(store.engine, "T1")
    assert [r["action"] for r in rows] == [f"a{i}" for i in range(5)]
    assert rows[0]["prev_hash"] == GENESIS
    assert all(rows[i]["prev_hash"] == rows[i - 1]["hash"] for i in range(1, 5))
    report = verify_team(store.engine, "T1")
    assert report.ok and report.count == 5 and report.head == {"seq": 5, "hash": rows[-1]["hash"]}


def test_a_redelivered_event_is_stored_once(
    store: AuditStore, event_factory: Factory, sql: Sql
) -> None:
    event = event_factory()
    first, again = store.append(event), store.append(event)
    assert again.duplicate and (again.seq, again.hash) == (first.seq, first.hash)
    assert sql("SELECT count(*) FROM audit_events")[0][0] == 1
    assert store.append(event_factory()).seq == 2


def test_teams_have_independent_chains(store: AuditStore, event_factory: Factory) -> None:
    for i in range(3):
        store.append(event_factory(team="TA", action=f"a{i}"))
        store.append(event_factory(team="TB", action=f"b{i}"))
    a, b = events(store.engine, "TA"), events(store.engine, "TB")
    assert [r["seq"] for r in a] == [1, 2, 3] == [r["seq"] for r in b]
    assert a[0]["prev_hash"] == b[0]["prev_hash"] == GENESIS
    assert {r["action"] for r in a} == {"a0", "a1", "a2"}
    assert [t["team_id"] for t in teams(store.engine)] == ["TA", "TB"]
    assert verify_team(store.engine, "TA").ok and verify_team(store.engine, "TB").ok


def test_two_writers_never_fork_a_chain(
    store: AuditStore, database_url: str, event_factory: Factory
) -> None:
    """Two replicas (separate engines, as separate processes would have) append at once."""
    replicas = [store, AuditStore.from_url(database_url)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def write(replica: AuditStore, name: str) -> None:
        barrier.wait()
        try:
            for i in range(15):
                replica.append(event_factory(team="TX", action=f"{name}-{i}"))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(replicas[i % 2], f"w{i}")) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    replicas[1].dispose()
    assert errors == []
    rows = events(store.engine, "TX", limit=1000)
    assert [r["seq"] for r in rows] == list(range(1, 61))
    assert verify_team(store.engine, "TX").ok


def test_secrets_in_detail_are_redacted_at_rest(
    store: AuditStore, event_factory: Factory, sql: Sql
) -> None:
    token = "ghp_" + "A1b2C3d4" * 5
    store.append(event_factory(
        action=f"called with {token}",
        detail={"headers": {"Authorization": "Bearer abcdefghijklmnopqrstuvwxyz"},
                "note": f"token is {token}", "list": [f"xoxb-{'1' * 12}-abc"]}))
    raw = " ".join(str(v) for row in sql("SELECT action, detail FROM audit_events") for v in row)
    assert token not in raw and "abcdefghijklmnop" not in raw and "xoxb-1111" not in raw
    assert "[REDACTED:github_token]" in raw
    assert verify_team(store.engine, "T1").ok  # the hash covers what is stored


def test_timestamps_round_trip_exactly(store: AuditStore, event_factory: Factory) -> None:
    local = datetime(2025, 6, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=-5)))
    store.append(event_factory(created_at=local))
    row = events(store.engine, "T1")[0]
    assert row["created_at"] == "2025-06-01T17:00:00.123456+00:00"
    assert verify_team(store.engine, "T1").ok
    assert datetime.fromisoformat(row["recorded_at"]).tzinfo == UTC


def test_an_unreachable_database_is_a_temporary_error(event_factory: Factory) -> None:
    down = AuditStore.from_url(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test")
    with pytest.raises(TemporaryError, match="appending audit event"):
        down.append(event_factory())
    down.dispose()


def test_values_no_column_can_hold_are_permanent_errors(
    store: AuditStore, event_factory: Factory, sql: Sql
) -> None:
    with pytest.raises(PermanentError, match="message_id longer than 128"):
        store.append(event_factory(message_id="m" * 129))
    with pytest.raises(PermanentError, match="service longer than 64"):
        store.append(event_factory(service="s" * 65))
    assert sql("SELECT count(*) FROM audit_events") == [(0,)]
