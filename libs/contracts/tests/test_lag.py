"""Consumer lag against a real nats-server: what /metrics reports and what the ingress's
queued notice reads, both from JetStream's own consumer info."""

import asyncio

from prometheus_client import CollectorRegistry
from triage_contracts import lag, subjects
from triage_contracts.broker import build_broker
from triage_contracts.bus import jetstream, publish
from triage_contracts.consume import subscribe
from triage_contracts.messages import ToolCall
from triage_contracts.streams import ConsumerSpec, provision, provision_consumer

SPEC = ConsumerSpec("lag-probe", "WORK", f"{subjects.PREFIX}.work.tool.TLAG.>")


async def _broker(url: str, registry: CollectorRegistry | None = None):
    broker = build_broker(url, "test", registry)
    await broker.connect()
    await provision(jetstream(broker))
    await provision_consumer(jetstream(broker), SPEC)
    return broker


async def _publish(broker, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        call = ToolCall(team_id="TLAG", run_id=f"r{i}", step_id="s", tool="github.search",
                        arguments={})
        await publish(broker, call, subjects.work("tool", "TLAG", "github"), msg_id=f"lag-{i}")


def _value(registry: CollectorRegistry) -> float | None:
    return registry.get_sample_value(lag.METRIC, {"stream": "WORK", "consumer": "lag-probe"})


async def _until(check, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_subscribed_consumers_report_their_lag_on_metrics(nats_url: str) -> None:
    registry = CollectorRegistry()
    broker = await _broker(nats_url, registry)
    try:
        subscribe(broker, SPEC)(lambda call: None)  # tracked; never started, so never drained
        await _publish(broker, 7)
        metrics = lag.of(broker)
        assert metrics is not None and metrics.consumers == [SPEC]
        metrics.start(0.1)
        await _until(lambda: _value(registry) == 7)
        await _publish(broker, 3, start=7)
        await _until(lambda: _value(registry) == 10)
        await metrics.stop()
    finally:
        await broker.stop()


async def test_a_burst_of_readers_shares_one_reading_per_second(nats_url: str) -> None:
    broker = await _broker(nats_url)
    try:
        await _publish(broker, 2)
        reader = lag.LagReader(broker, ttl=60.0)
        first = await asyncio.gather(*(reader.lag("WORK", "lag-probe") for _ in range(50)))
        assert {r.total for r in first} == {2}
        await _publish(broker, 5, start=2)
        assert (await reader.lag("WORK", "lag-probe")).total == 2  # cached within the ttl
        fresh = lag.LagReader(broker, ttl=60.0)
        assert (await fresh.lag("WORK", "lag-probe")).total == 7
    finally:
        await broker.stop()


async def test_an_unreadable_consumer_keeps_its_last_value(nats_url: str) -> None:
    registry = CollectorRegistry()
    broker = await _broker(nats_url, registry)
    try:
        metrics = lag.of(broker)
        assert metrics is not None
        metrics.track(SPEC)
        metrics.track(ConsumerSpec("no-such-consumer", "WORK", "triage.work.tool.TNONE.>"))
        await _publish(broker, 1)
        await metrics.refresh()
        assert _value(registry) == 1
        assert registry.get_sample_value(
            lag.METRIC, {"stream": "WORK", "consumer": "no-such-consumer"}) is None
    finally:
        await broker.stop()
