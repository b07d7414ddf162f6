"""Checkpoint batches on SQLite and PostgreSQL with a real file sink: what they anchor, what
verify then detects (rewrite-and-recompute, truncation, team deletion, forged checkpoints),
that a rewritten chain is never signed over, key rotation, and replicas sharing a sink."""

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session
from triage_audit.chain import link_hash
from triage_audit.checkpointer import Checkpointer
from triage_audit.keys import SigningKey, key_id_of
from triage_audit.models import AuditCheckpoint, AuditRow
from triage_audit.queries import row_fields
from triage_audit.sinks import FileSink
from triage_audit.store import AuditStore
from triage_audit.verify import Trust, verify_team
from triage_audit.verify_log import LogReport, read_trust, verify_log
from triage_contracts.messages import AuditEvent

Factory = Callable[..., AuditEvent]
Sql = Callable[..., list[Any]]


def new_key() -> SigningKey:
    private = Ed25519PrivateKey.generate()
    return SigningKey(key_id_of(private.public_key()), private, "test")


@pytest.fixture
def key() -> SigningKey:
    return new_key()


@pytest.fixture
def sink(tmp_path: Path) -> FileSink:
    return FileSink(tmp_path / "anchors")


@pytest.fixture
def checkpointer(store: AuditStore, sink: FileSink, key: SigningKey) -> Checkpointer:
    return Checkpointer(store.engine, [sink], key, {})


def append(store: AuditStore, factory: Factory, team: str, n: int) -> None:
    for i in range(n):
        store.append(factory(team=team, action=f"{team}-{i}"))


def check(store: AuditStore, sink: FileSink, *keys: SigningKey) -> LogReport:
    return verify_log(store.engine, read_trust([sink], {k.key_id: k.public for k in keys}))


def errors(report: LogReport) -> dict[str, tuple[int, str]]:
    return {t.team_id: (t.first_error.seq, t.first_error.reason)
            for t in report.teams if t.first_error is not None}


def recompute(store: AuditStore, team: str, from_seq: int) -> None:
    """A forger with the database: change a row, rehash everything after it, fix the head."""
    with Session(store.engine) as session, session.begin():
        rows = list(session.scalars(select(AuditRow).where(
            AuditRow.team_id == team, AuditRow.seq >= from_seq).order_by(AuditRow.seq)))
        rows[0].action = "forged"
        prev = rows[0].prev_hash
        for row in rows:
            row.prev_hash, row.hash = prev, link_hash(prev, row_fields(row))
            prev = row.hash
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE audit_heads SET hash = '{prev}' WHERE team_id = '{team}'")


def test_a_batch_anchors_the_teams_that_moved(
    store: AuditStore, event_factory: Factory, checkpointer: Checkpointer, sink: FileSink,
    key: SigningKey, sql: Sql,
) -> None:
    append(store, event_factory, "T1", 5)
    append(store, event_factory, "T2", 3)
    first = checkpointer.run_batch()
    assert (first.number, first.teams, first.alarms) == (1, {"T1": 5, "T2": 3}, {})
    assert first.written == [sink.url]
    assert checkpointer.run_batch().number is None  # nothing moved: no batch
    append(store, event_factory, "T1", 2)
    second = checkpointer.run_batch()
    assert (second.number, second.teams, second.anchored) == (2, {"T1": 7}, {"T1": 7, "T2": 3})
    assert sql("SELECT team_id, seq, batch FROM audit_checkpoints ORDER BY id") == [
        ("T1", 5, 1), ("T2", 3, 1), ("T1", 7, 2)]
    report = check(store, sink, key)
    assert report.ok, report.as_dict()
    t1 = report.teams[0]
    assert (t1.checkpoints, t1.anchor["seq"], t1.anchor["batch"]) == (2, 7, 2)  # type: ignore[index]
    assert [(a.batch, a.teams, a.ok) for a in report.anchors] == [(2, 2, True)]


def test_rewrite_and_recompute_is_detected_and_never_signed_over(
    store: AuditStore, event_factory: Factory, checkpointer: Checkpointer, sink: FileSink,
    key: SigningKey, sql: Sql,
) -> None:
    append(store, event_factory, "T1", 6)
    append(store, event_factory, "T2", 2)
    checkpointer.run_batch()
    recompute(store, "T1", 3)
    assert verify_team(store.engine, "T1").ok  # the chain alone cannot tell
    assert errors(check(store, sink, key)) == {"T1": (6, "anchor_mismatch")}
    sql("DELETE FROM audit_checkpoints")  # the forger removes the stored copies too
    report = check(store, sink, key)
    assert errors(report) == {"T1": (6, "anchor_mismatch")}
    assert "external checkpoint (batch 1" in report.teams[0].first_error.message  # type: ignore[union-attr]

    append(store, event_factory, "T1", 2)  # the service goes on appending to the forgery
    append(store, event_factory, "T2", 1)
    outcome = checkpointer.run_batch()
    assert outcome.alarms["T1"].reason == "broken_link" and outcome.teams == {"T2": 3}
    assert outcome.anchored["T1"] == 6  # T1 keeps its honest checkpoint
    assert errors(check(store, sink, key)) == {"T1": (6, "anchor_mismatch")}


def test_truncation_team_deletion_and_forged_checkpoints_are_detected(
    store: AuditStore, event_factory: Factory, checkpointer: Checkpointer, sink: FileSink,
    key: SigningKey, sql: Sql,
) -> None:
    for team in ("T1", "T2", "T3"):
        append(store, event_factory, team, 4)
    checkpointer.run_batch()
    hash_2 = sql("SELECT hash FROM audit_events WHERE team_id = 'T1' AND seq = 2")[0][0]
    sql("DELETE FROM audit_events WHERE team_id = 'T1' AND seq > 2")
    sql("UPDATE audit_heads SET seq = 2, hash = :h WHERE team_id = 'T1'", h=hash_2)
    sql("DELETE FROM audit_checkpoints WHERE team_id IN ('T1', 'T2')")
    for table in ("audit_events", "audit_heads"):
        sql(f"DELETE FROM {table} WHERE team_id = 'T2'")
    sql("UPDATE audit_checkpoints SET document = replace(document, :old, :new)",
        old='"seq":4', new='"seq":3')
    report = check(store, sink, key)
    assert errors(report) == {"T1": (3, "truncated"), "T2": (4, "team_deleted"),
                              "T3": (4, "bad_signature")}
    # The checkpointer raises the same alarms and carries both teams forward.
    outcome = checkpointer.run_batch()
    assert {t: e.reason for t, e in outcome.alarms.items()} == {"T1": "truncated",
                                                                "T2": "team_deleted"}
    assert outcome.number is None


def test_a_rotated_key_needs_the_old_public_key_to_verify_old_checkpoints(
    store: AuditStore, event_factory: Factory, sink: FileSink, key: SigningKey,
) -> None:
    append(store, event_factory, "T1", 3)
    Checkpointer(store.engine, [sink], key, {}).run_batch()
    rotated = new_key()
    # The new key's checkpointer trusts the old public key, so it builds on batch 1.
    after = Checkpointer(store.engine, [sink], rotated, {key.key_id: key.public})
    append(store, event_factory, "T1", 2)
    assert after.run_batch().number == 2
    assert check(store, sink, key, rotated).ok
    without_old = check(store, sink, rotated)
    assert errors(without_old) == {"T1": (3, "bad_signature")}
    assert "not among the trusted public keys" in without_old.teams[0].first_error.message  # type: ignore[union-attr]


def test_replicas_share_one_sink_without_conflicting_batches(
    store: AuditStore, database_url: str, event_factory: Factory, sink: FileSink,
    key: SigningKey,
) -> None:
    other = AuditStore.from_url(database_url)
    replicas = [Checkpointer(s.engine, [sink], key, {}) for s in (store, other)]
    numbers: list[int] = []
    for round_ in range(4):
        append(store, event_factory, f"T{round_ % 2}", 3)
        barrier = threading.Barrier(2)

        def run(replica: Checkpointer, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            outcome = replica.run_batch()
            if outcome.number is not None:
                numbers.append(outcome.number)

        threads = [threading.Thread(target=run, args=(r,)) for r in replicas]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    other.dispose()
    assert sorted(numbers) == list(range(1, len(numbers) + 1)) and len(numbers) >= 4
    report = check(store, sink, key)
    assert report.ok and report.anchors[0].batch == len(numbers)
    assert {t.team_id: t.anchor["seq"] for t in report.teams} == {"T0": 6, "T1": 6}  # type: ignore[index]


def test_a_database_from_before_anchoring_still_verifies(
    store: AuditStore, event_factory: Factory, sink: FileSink, key: SigningKey,
) -> None:
    """verify is read-only: on a database without the checkpoint table (not yet migrated,
    or a read replica) it checks the chains and the sinks, and creates nothing."""
    append(store, event_factory, "T1", 2)
    AuditCheckpoint.__table__.drop(store.engine)  # type: ignore[attr-defined]
    report = check(store, sink, key)
    assert report.ok and report.teams[0].count == 2 and report.teams[0].checkpoints == 0
    assert not inspect(store.engine).has_table("audit_checkpoints")


def test_without_any_sink_a_required_anchor_fails(
    store: AuditStore, event_factory: Factory,
) -> None:
    """Production may start without AUDIT_ANCHOR_SINKS (the chart's defaults), but its
    verify says the anchor is missing."""
    append(store, event_factory, "T1", 1)
    assert verify_log(store.engine, Trust()).ok
    report = verify_log(store.engine, Trust(), None, require_anchor=True)
    assert not report.ok and report.teams[0].ok
    assert report.anchors[0].problem == "no anchor sink configured (an anchor is required)"
