"""Consumers handling several messages at once against a real nats-server: a slow message
holds only its own slot, the cap of a consumer holds, and the keyed lock keeps each run's
messages serial and in stream order while different runs overlap."""

import asyncio
from collections import defaultdict
from typing import Any

from triage_contracts import subjects
from triage_contracts.broker import build_broker
from triage_contracts.bus import jetstream, publish
from triage_contracts.consume import subscribe
from triage_contracts.keyed import KeyedLock
from triage_contracts.messages import ToolCall
from triage_contracts.streams import ConsumerSpec, provision
from triage_contracts.testing.wait import eventually

SUBJECT = subjects.work("tool", "T1", "github")
WITHIN = 30.0  # generous: a loaded 2-core machine


def probe(**extra: Any) -> ConsumerSpec:
    return ConsumerSpec("probe", "WORK", "triage.work.tool.>", **extra)


async def run_consumer(nats_url: str, spec: ConsumerSpec, concurrency: int, handler, calls):
    """Start a broker whose one consumer runs `handler`, publish `calls`, return the broker."""
    broker = build_broker(nats_url, "test")
    subscribe(broker, spec, concurrency=concurrency)(handler)
    await broker.connect()
    await provision(jetstream(broker))
    await broker.start()
    for call in calls:
        await publish(broker, call, SUBJECT)
    return broker


def call(run: str, step: str) -> ToolCall:
    return ToolCall(team_id="T1", run_id=run, step_id=step, tool="github.search", arguments={})


async def test_n_messages_are_in_flight_together(nats_url: str) -> None:
    """Each handler waits until all N are inside: this finishes only if N run at once."""
    n = 6
    inside: set[str] = set()
    all_in = asyncio.Event()

    async def handle(msg: ToolCall) -> None:
        inside.add(msg.step_id)
        if len(inside) == n:
            all_in.set()
        await asyncio.wait_for(all_in.wait(), WITHIN)

    broker = await run_consumer(nats_url, probe(fetch_batch=2), n, handle,
                                [call("r1", f"s{i}") for i in range(n)])
    try:
        await asyncio.wait_for(all_in.wait(), WITHIN)
    finally:
        await broker.stop()
    assert inside == {f"s{i}" for i in range(n)}


async def test_a_stuck_message_holds_only_its_own_slot(nats_url: str) -> None:
    """With one message that never finishes, the other ones (more than a fetch) all do:
    the next fetch does not wait for the slowest message of the previous one."""
    release, done = asyncio.Event(), set()
    others = [call("r2", f"s{i}") for i in range(8)]

    async def handle(msg: ToolCall) -> None:
        if msg.step_id == "stuck":
            await release.wait()
        done.add(msg.step_id)

    broker = await run_consumer(nats_url, probe(fetch_batch=2), 3, handle,
                                [call("r1", "stuck"), *others])
    try:
        await wait_for(lambda: len(done) == len(others))
        assert "stuck" not in done
    finally:
        release.set()
        await broker.stop()


async def test_a_consumer_cap_keeps_it_to_one_at_a_time(nats_url: str) -> None:
    in_flight, most = 0, 0
    seen: list[str] = []

    async def handle(msg: ToolCall) -> None:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.02)  # work that yields to the loop
        seen.append(msg.step_id)
        in_flight -= 1

    steps = [f"s{i}" for i in range(6)]
    broker = await run_consumer(nats_url, probe(fetch_batch=1, max_concurrency=1), 8, handle,
                                [call("r1", s) for s in steps])
    try:
        await wait_for(lambda: len(seen) == len(steps))
    finally:
        await broker.stop()
    assert most == 1 and seen == steps


async def test_runs_overlap_but_each_run_is_serial_and_in_order(nats_url: str) -> None:
    runs, steps = ["ra", "rb", "rc"], [f"s{i}" for i in range(5)]
    published = [call(run, step) for step in steps for run in runs]  # interleaved
    locks = KeyedLock()
    order: dict[str, list[str]] = defaultdict(list)
    busy: dict[str, int] = defaultdict(int)
    overlaps: list[str] = []
    in_flight, most = 0, 0

    async def handle(msg: ToolCall) -> None:
        nonlocal in_flight, most
        async with locks.hold(msg.run_id):
            busy[msg.run_id] += 1
            in_flight += 1
            most = max(most, in_flight)
            if busy[msg.run_id] > 1:
                overlaps.append(msg.run_id)
            await asyncio.sleep(0.05)  # work that yields: another run may start meanwhile
            order[msg.run_id].append(msg.step_id)
            busy[msg.run_id] -= 1
            in_flight -= 1

    broker = await run_consumer(nats_url, probe(fetch_batch=4), 8, handle, published)
    try:
        await wait_for(lambda: sum(map(len, order.values())) == len(published))
    finally:
        await broker.stop()
    assert overlaps == []
    assert all(order[run] == steps for run in runs)
    assert most > 1  # different runs were handled at the same time
    assert len(locks) == 0  # no lock kept for a run nobody waits on


async def test_a_handler_slower_than_the_first_backoff_step_runs_once(nats_url: str) -> None:
    """JetStream waits only BackOff[0] (1 s) before delivering again, whatever AckWait says:
    the handler's in-progress acks keep a 4 s handler from running a second time."""
    started: list[int] = []

    async def handle(msg: ToolCall) -> None:
        started.append(1)
        await asyncio.sleep(4.0)

    spec = probe(ack_wait=30.0, backoff=[1.0, 5.0])
    broker = await run_consumer(nats_url, spec, 4, handle, [call("r1", "slow")])
    try:
        js = jetstream(broker)
        info = await eventually(lambda: _settled(js, spec))
    finally:
        await broker.stop()
    assert started == [1] and info.num_redelivered == 0


async def test_a_handler_stuck_past_the_ack_wait_is_delivered_again(nats_url: str) -> None:
    """The in-progress acks stop at the consumer's AckWait: a hung handler does not hold
    its message forever."""
    deliveries: list[int] = []
    release = asyncio.Event()

    async def handle(msg: ToolCall) -> None:
        deliveries.append(1)
        if len(deliveries) == 1:
            await release.wait()  # hung

    broker = await run_consumer(nats_url, probe(ack_wait=3.0, backoff=[1.0]), 4, handle,
                                [call("r1", "hung")])
    try:
        await wait_for(lambda: len(deliveries) >= 2)
    finally:
        release.set()
        await broker.stop()


async def _settled(js, spec: ConsumerSpec):
    """The consumer's info once its one message is acknowledged (None before)."""
    info = await js.consumer_info(spec.stream, spec.durable)
    done = info.num_ack_pending == 0 and info.num_pending == 0 and info.delivered.stream_seq
    return info if done else None


async def wait_for(check, within: float = WITHIN) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)
