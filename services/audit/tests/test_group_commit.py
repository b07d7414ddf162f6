"""The audit service appending in groups on a real nats-server and database: events that
arrive while a transaction is being written are appended together in the next one, none is
acked before its group's commit, and a poison event in a group fails alone."""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from faststream.nats import NatsBroker
from sqlalchemy import event
from triage_audit.db import IMMEDIATE
from triage_audit.queries import events
from triage_audit.store import AuditStore
from triage_contracts.bus import jetstream
from triage_contracts.messages import AuditEvent

from .test_poison import dead_letters, publish_raw, raw_event, rows

Until = Callable[..., Awaitable[None]]
Factory = Callable[..., AuditEvent]


@contextmanager
def write_lock(store: AuditStore) -> Iterator[None]:
    """Hold the database's write lock from another connection (another writer's long
    transaction): the service's appends wait for it."""
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            conn = conn.execution_options(**IMMEDIATE)
            with conn.begin():
                yield
        else:
            with conn.begin():
                conn.exec_driver_sql("LOCK TABLE audit_heads IN EXCLUSIVE MODE")
                yield


def group_commits(app: Any) -> list[int]:
    """Committed transactions that appended audit rows (not the checkpointer's)."""
    engine, appending, commits = app.state.store.engine, set(), []

    def on_execute(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_EVENTS"):
            appending.add(id(conn))

    def on_commit(conn: Any) -> None:
        if id(conn) in appending:
            appending.discard(id(conn))
            commits.append(1)

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    return commits


async def publish_while_locked(publisher: NatsBroker, store: AuditStore, bodies: list[bytes],
                               until: Until) -> None:
    """Publish `bodies` while the database is locked; return once all of them are being
    handled (delivered, none acked) and the lock is released."""
    js = jetstream(publisher)

    async def all_waiting() -> bool:
        info = await js.consumer_info("AUDIT", "audit")
        return info.num_ack_pending == len(bodies)

    with write_lock(store):
        for body in bodies:
            await publish_raw(publisher, "T1", body)
        await until(all_waiting, within=30)


async def test_events_that_wait_are_appended_in_one_group_and_acked_after_its_commit(
    audit_service: Any, nats_url: str, database_url: str, store: AuditStore,
    publisher: NatsBroker, event_factory: Factory, until: Until,
) -> None:
    batch = [event_factory(action=f"a{i}") for i in range(20)]
    async with audit_service(nats_url, database_url, audit_checkpoint_every=10_000) as app:
        commits = group_commits(app)
        await publish_while_locked(
            publisher, store, [e.model_dump_json().encode() for e in batch], until)
        assert commits == []  # all 20 delivered and waiting: none committed, none acked
        await until(rows(store, "T1", len(batch)), within=30)
        info = await jetstream(publisher).consumer_info("AUDIT", "audit")
    assert [r["action"] for r in events(store.engine, "T1")] == [e.action for e in batch]
    assert info.num_ack_pending == 0 and info.num_redelivered == 0
    # The first event's transaction (waiting for the lock), then one for all that queued
    # behind it (two if the lock was released between two of them arriving).
    assert 1 <= len(commits) <= 3


async def test_a_poison_event_in_a_group_fails_alone(
    audit_service: Any, nats_url: str, database_url: str, store: AuditStore,
    publisher: NatsBroker, event_factory: Factory, until: Until,
) -> None:
    before, poison, after = (event_factory(action=a) for a in ("before", "poison", "after"))
    bodies = [before.model_dump_json().encode(), raw_event(poison, cost_usd=float("nan")),
              after.model_dump_json().encode()]
    async with audit_service(nats_url, database_url):
        await publish_while_locked(publisher, store, bodies, until)
        await until(rows(store, "T1", 2), within=30)
        letters = await dead_letters(publisher, 1, until)
        info = await jetstream(publisher).consumer_info("AUDIT", "audit")
    assert [r["action"] for r in events(store.engine, "T1")] == ["before", "after"]
    assert poison.message_id in letters[0].payload and letters[0].deliveries == 1
    assert info.num_ack_pending == 0 and info.num_redelivered == 0


async def test_a_database_that_waits_never_blocks_the_event_loop(
    audit_service: Any, nats_url: str, database_url: str, store: AuditStore,
    publisher: NatsBroker, event_factory: Factory, until: Until,
) -> None:
    """The append waits seconds for another writer's lock; the service's event loop must
    keep running meanwhile (a synchronous database call on it would stall it that long)."""
    held_s, gaps = 4.0, [0.0]

    async def heartbeat() -> None:
        while True:
            started = asyncio.get_running_loop().time()
            await asyncio.sleep(0.05)
            gaps.append(asyncio.get_running_loop().time() - started)

    async with audit_service(nats_url, database_url):
        beating = asyncio.create_task(heartbeat())
        with write_lock(store):
            await publish_raw(publisher, "T1", event_factory().model_dump_json().encode())
            await asyncio.sleep(held_s)  # the handler is waiting for the lock by now
        await until(rows(store, "T1", 1), within=30)
        beating.cancel()
    assert max(gaps) < held_s / 2, f"the loop stalled for {max(gaps):.1f}s"
