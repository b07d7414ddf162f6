"""Poison audit events on a real nats-server: an event that can never be stored is
dead-lettered with its reason (at once when the content is the reason, after a bounded
number of deliveries otherwise), the consumer goes on with the next events, and a database
outage is still retried without bound."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from faststream.nats import NatsBroker
from triage_audit.queries import events
from triage_audit.retry_policy import after_failure
from triage_audit.store import AuditStore
from triage_contracts import subjects
from triage_contracts.audit import AuditEmitter
from triage_contracts.bus import jetstream
from triage_contracts.errors import ErrorCode, PermanentError, TemporaryError
from triage_contracts.messages import AuditEvent, AuditKind, DeadLetter

from .test_outage import TcpRelay

Until = Callable[..., Awaitable[None]]
Factory = Callable[..., AuditEvent]
Sql = Callable[..., list[Any]]


def test_the_retry_policy() -> None:
    outage = TemporaryError("database down", ErrorCode.UPSTREAM_UNAVAILABLE)
    conflict = TemporaryError("unique violation", ErrorCode.CONFLICT)
    bad = PermanentError("bad content")
    assert after_failure(outage, 10_000, 3) is outage  # an outage delays, never drops
    assert after_failure(bad, 1, 3) is bad
    assert after_failure(conflict, 2, 3) is conflict
    final = after_failure(conflict, 3, 3)
    assert isinstance(final, PermanentError) and final.code == ErrorCode.MAX_DELIVERIES
    assert str(final) == "not stored after 3 deliveries: unique violation"
    assert "ZeroDivisionError" in str(after_failure(ZeroDivisionError(), 3, 3))


async def publish_raw(broker: NatsBroker, team: str, body: bytes) -> None:
    await jetstream(broker).publish(subjects.audit(team, "tools"), body, stream="AUDIT")


async def dead_letters(broker: NatsBroker, n: int, until: Until) -> list[DeadLetter]:
    info: list[DeadLetter] = []

    async def arrived() -> bool:
        return (await jetstream(broker).stream_info("DLQ")).state.messages >= n
    await until(arrived, within=30)
    inbox = await jetstream(broker).pull_subscribe("triage.dlq.>", durable="t", stream="DLQ")
    for message in await inbox.fetch(n, timeout=5):
        info.append(DeadLetter.model_validate_json(message.data))
    return info


def rows(store: AuditStore, team: str, n: int) -> Callable[[], Awaitable[bool]]:
    async def count() -> bool:
        return len(await asyncio.to_thread(events, store.engine, team)) >= n
    return count


def raw_event(event: AuditEvent, **override: Any) -> bytes:
    text = event.model_dump_json()
    data = json.loads(text)
    data.update(override)
    return json.dumps(data).encode()  # json.dumps writes NaN and lone surrogates as given


async def test_events_that_can_never_be_hashed_are_dead_lettered_at_once(
    audit_service: Any, nats_url: str, database_url: str, store: AuditStore,
    publisher: NatsBroker, event_factory: Factory, emitter: AuditEmitter, until: Until,
) -> None:
    nan = event_factory(action="nan cost")
    surrogate = event_factory(action="lone surrogate")
    async with audit_service(nats_url, database_url):
        await publish_raw(publisher, "T1", raw_event(nan, cost_usd=float("nan")))
        await publish_raw(publisher, "T1", raw_event(surrogate, action="half \ud800 a pair"))
        await publish_raw(publisher, "T1", b"{not json")
        await emitter.emit("T1", "r1", AuditKind.STEP, "after the poison")
        await until(rows(store, "T1", 1))
        letters = await dead_letters(publisher, 3, until)
    assert [e["action"] for e in events(store.engine, "T1")] == ["after the poison"]
    assert all(letter.deliveries == 1 and letter.service == "audit" for letter in letters)
    reason = {next((m for m in (nan.message_id, surrogate.message_id) if m in letter.payload),
                   "junk"): letter.reason for letter in letters}
    assert reason[nan.message_id].startswith(f"audit event {nan.message_id} has no canonical")
    assert "surrogates not allowed" in reason[surrogate.message_id]
    assert reason["junk"].startswith("invalid message")


async def test_a_conflict_that_never_clears_is_dead_lettered_after_the_limit(
    audit_service: Any, nats_url: str, database_url: str, store: AuditStore,
    publisher: NatsBroker, event_factory: Factory, emitter: AuditEmitter, until: Until,
    sql: Sql,
) -> None:
    for i in range(3):
        store.append(event_factory(action=f"a{i}"))
    sql("UPDATE audit_heads SET seq = 1 WHERE team_id = 'T1'")  # a head set back by hand
    async with audit_service(nats_url, database_url, audit_poison_max_deliver=2):
        await emitter.emit("T1", "r1", AuditKind.STEP, "cannot be chained")
        await emitter.emit("T2", "r1", AuditKind.STEP, "other teams go on")
        await until(rows(store, "T2", 1))
        [letter] = await dead_letters(publisher, 1, until)
    assert letter.error_code == "max_deliveries" and letter.deliveries == 2
    assert letter.reason.startswith("not stored after 2 deliveries: appending audit event")
    assert "cannot be chained" in letter.payload
    assert len(events(store.engine, "T1")) == 3


async def test_a_database_outage_is_retried_past_the_poison_limit(
    postgres_schema: tuple[str, str], nats_url: str, audit_service: Any,
    emitter: AuditEmitter, until: Until,
) -> None:
    url, _ = postgres_schema
    relay = TcpRelay(5432)
    await relay.start()
    direct = AuditStore.from_url(url)
    async with audit_service(nats_url, url.replace(":5432/", f":{relay.port}/"),
                             audit_poison_max_deliver=1):
        await relay.stop()
        await emitter.emit("T1", "r", AuditKind.STEP, "during the outage")
        js = jetstream(emitter.broker)

        async def redelivered() -> bool:
            return (await js.consumer_info("AUDIT", "audit")).num_redelivered >= 1
        await until(redelivered, within=30)
        await relay.start()
        await until(rows(direct, "T1", 1), within=40)
    assert (await jetstream(emitter.broker).stream_info("DLQ")).state.messages == 0
    direct.dispose()
    await relay.stop()
