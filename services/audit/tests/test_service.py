"""The audit service end to end on a real nats-server: AuditEmitter → AUDIT stream →
durable consumer → chain in SQLite / PostgreSQL."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from faststream.nats import NatsBroker
from triage_audit.queries import events
from triage_audit.store import AuditStore
from triage_audit.verify import verify_team
from triage_contracts import subjects
from triage_contracts.audit import AuditEmitter
from triage_contracts.bus import jetstream, publish
from triage_contracts.messages import AuditEvent, AuditKind, DeadLetter

Until = Callable[..., Awaitable[None]]
Factory = Callable[..., AuditEvent]
Sql = Callable[..., list[Any]]


def rows_of(store: AuditStore, team: str = "T1") -> Callable[[int], Awaitable[bool]]:
    async def count_is(n: int) -> bool:
        return len(await asyncio.to_thread(events, store.engine, team, None, 0, 1000)) >= n
    return count_is


async def settled(broker: NatsBroker, durable: str = "audit") -> bool:
    """The audit consumer has acked everything in the stream (nothing pending or unacked)."""
    info = await jetstream(broker).consumer_info("AUDIT", durable)
    return info.num_pending == 0 and info.num_ack_pending == 0


async def test_emitted_events_are_chained_in_order(
    audit_service: Any, nats_url: str, database_url: str, store: AuditStore,
    emitter: AuditEmitter, until: Until,
) -> None:
    async with audit_service(nats_url, database_url):
        for i in range(8):
            await emitter.emit("T1", "run1", AuditKind.TOOL_CALL, f"step-{i}",
                               detail={"i": i}, cost_usd=0.01 * i)
        await until(lambda: rows_of(store)(8))
    rows = events(store.engine, "T1")
    assert [r["action"] for r in rows] == [f"step-{i}" for i in range(8)]
    assert [r["seq"] for r in rows] == list(range(1, 9))
    assert rows[3]["service"] == "tools" and rows[3]["kind"] == "tool_call"
    assert verify_team(store.engine, "T1").ok


async def test_a_redelivered_event_is_acked_without_a_second_row(
    audit_service: Any, nats_url: str, database_url: str, store: AuditStore,
    publisher: NatsBroker, event_factory: Factory, until: Until, sql: Sql,
) -> None:
    event = event_factory()
    subject = subjects.audit("T1", "tools")
    async with audit_service(nats_url, database_url):
        assert await publish(publisher, event, subject, msg_id="first-delivery")
        # A different Nats-Msg-Id defeats JetStream's dedupe: the stream holds it twice.
        assert await publish(publisher, event, subject, msg_id="second-delivery")
        assert await publish(publisher, event_factory(action="next"), subject)
        await until(lambda: rows_of(store)(2))
        await until(lambda: settled(publisher))
    stream = await jetstream(publisher).stream_info("AUDIT")
    assert stream.state.messages == 3
    assert sql("SELECT count(*) FROM audit_events WHERE message_id = :m", m=event.message_id) \
        == [(1,)]
    assert [r["action"] for r in events(store.engine, "T1")] == ["step", "next"]


async def test_two_teams_get_independent_chains(
    audit_service: Any, nats_url: str, database_url: str, store: AuditStore,
    emitter: AuditEmitter, until: Until,
) -> None:
    async with audit_service(nats_url, database_url):
        for i in range(4):
            await emitter.emit("TA", "r", AuditKind.STEP, f"a{i}")
            await emitter.emit("TB", "r", AuditKind.STEP, f"b{i}")
        await until(lambda: rows_of(store, "TA")(4))
        await until(lambda: rows_of(store, "TB")(4))
    for team, prefix in (("TA", "a"), ("TB", "b")):
        rows = events(store.engine, team)
        expected = [(i + 1, f"{prefix}{i}") for i in range(4)]
        assert [(r["seq"], r["action"]) for r in rows] == expected
        assert verify_team(store.engine, team).ok


async def test_nothing_is_lost_while_the_service_is_down(
    audit_service: Any, nats_url: str, database_url: str, store: AuditStore,
    emitter: AuditEmitter, until: Until,
) -> None:
    async with audit_service(nats_url, database_url):
        await emitter.emit("T1", "r", AuditKind.REQUEST, "before")
        await until(lambda: rows_of(store)(1))
    for i in range(6):  # the audit service is stopped: the AUDIT stream keeps these
        await emitter.emit("T1", "r", AuditKind.STEP, f"while-down-{i}")
    await asyncio.sleep(0.3)
    assert len(events(store.engine, "T1")) == 1
    async with audit_service(nats_url, database_url):
        await until(lambda: rows_of(store)(7))
    actions = [r["action"] for r in events(store.engine, "T1")]
    assert actions == ["before"] + [f"while-down-{i}" for i in range(6)]
    assert verify_team(store.engine, "T1").ok


async def test_raw_secrets_are_redacted_before_storage(
    audit_service: Any, nats_url: str, database_url: str, store: AuditStore,
    publisher: NatsBroker, event_factory: Factory, until: Until, sql: Sql,
) -> None:
    """A publisher that forgot to redact (bypassing AuditEmitter) still stores no secret."""
    secret = "sk-proj-" + "Zx9" * 10
    event = event_factory(detail={"prompt": f"use key {secret}", "password": "hunter2hunter2"})
    async with audit_service(nats_url, database_url):
        await publish(publisher, event, subjects.audit("T1", "tools"))
        await until(lambda: rows_of(store)(1))
    stored = sql("SELECT detail FROM audit_events")[0][0]
    stored_text = str(stored)
    assert secret not in stored_text and "hunter2" not in stored_text
    assert "[REDACTED:openai_key]" in stored_text and "[REDACTED]" in stored_text


async def test_an_event_claiming_another_team_is_dead_lettered(
    audit_service: Any, nats_url: str, database_url: str, store: AuditStore,
    publisher: NatsBroker, event_factory: Factory, until: Until,
) -> None:
    forged = event_factory(team="T1")
    async with audit_service(nats_url, database_url):
        await publish(publisher, forged, subjects.audit("T2", "tools"))
        await publish(publisher, event_factory(team="T2"), subjects.audit("T2", "tools"))
        await until(lambda: rows_of(store, "T2")(1))
        await until(lambda: settled(publisher))
    letters = await jetstream(publisher).pull_subscribe("triage.dlq.>", durable="t", stream="DLQ")
    [letter] = [DeadLetter.model_validate_json(m.data) for m in await letters.fetch(1, timeout=5)]
    assert letter.service == "audit" and letter.error_code == "policy_denied"
    assert forged.message_id in letter.reason and "T2" in letter.original_subject
    assert events(store.engine, "T1") == []


async def test_two_replicas_consume_one_stream_without_forking(
    audit_service: Any, nats_url: str, database_url: str, store: AuditStore,
    emitter: AuditEmitter, until: Until,
) -> None:
    async with audit_service(nats_url, database_url), audit_service(nats_url, database_url):
        await asyncio.gather(*(emitter.emit("T1", f"r{i % 3}", AuditKind.STEP, f"e{i}")
                               for i in range(40)))
        await until(lambda: rows_of(store)(40), within=30)
    rows = events(store.engine, "T1")
    assert [r["seq"] for r in rows] == list(range(1, 41))
    assert sorted(r["action"] for r in rows) == sorted(f"e{i}" for i in range(40))
    assert verify_team(store.engine, "T1").ok
