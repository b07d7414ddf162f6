"""Benchmark (issue 11): publish and consume throughput through faststream, as the project
configures it, against raw nats-py on the same stream.

    uv run python benchmarks/bus_faststream.py [--messages 2000] [--size 1024] \
        [--inflight 32] [--batch 10] [--concurrency 8] [--rounds 5]

`--messages` messages of `--size` bytes are published with `--inflight` publishes in flight
(each waits for the stream's ack, with a Nats-Msg-Id, as `bus.publish` does) while a durable
pull consumer on the same subject takes them; a round is timed from the first publish to the
last message handled, and reported as messages per second (median of the rounds). Three
ways, each round on a fresh connection, a subject and a consumer of its own:
- faststream, build_broker: the services' broker (`build_broker`: error mapping and
  telemetry middlewares), `bus.publish`, and `consume.subscribe` (fetches of `--batch`,
  `--concurrency` handlers at once: ConsumerSpec.fetch_batch and CONSUMER_CONCURRENCY);
- faststream, bare NatsBroker: the same publish and subscriber on a NatsBroker without
  middlewares (its per-message log at DEBUG, unwritten, as `build_broker` sets it);
- raw nats-py: `js.publish`, and `pull_subscribe_bind` + `fetch(--batch)`, acking each.
The payload is bytes in all three (no model to validate), so the rows differ by the
framework only. The stream is the provisioned RESULTS stream (file store) on a nats-server
with `sync_interval: always` (production's). Rounds alternate the three ways and flip their
order every round so drift on a shared machine hits all alike. Loopback only; a round that
does not finish within `--timeout` seconds ends the run with an error.
"""

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats
from bus_hop import in_flight  # the same lanes as the bus-hop benchmark
from faststream.nats import NatsBroker
from triage_contracts import subjects
from triage_contracts.broker import build_broker
from triage_contracts.bus import MSG_ID_HEADER, publish
from triage_contracts.consume import subscribe
from triage_contracts.streams import ConsumerSpec
from triage_contracts.testing.natsserver import NatsServer

TEAM = "TBENCH"
STREAM = "RESULTS"
Way = Callable[[str, str, argparse.Namespace], Awaitable[float]]


async def timed(publish_one: Callable[[int], Awaitable[object]], consumed: asyncio.Event,
                args: argparse.Namespace) -> float:
    """Seconds from the first publish until every message is published and handled."""
    started = time.perf_counter()

    async def both() -> None:
        await in_flight(args.messages, args.inflight, publish_one)
        await consumed.wait()

    try:
        await asyncio.wait_for(both(), args.timeout)
    except TimeoutError:
        raise SystemExit(f"{args.messages} messages not through within {args.timeout}s") from None
    return time.perf_counter() - started


def spec(tag: str, subject: str, args: argparse.Namespace) -> ConsumerSpec:
    return ConsumerSpec(f"bench-{tag}", STREAM, subject, fetch_batch=args.batch)


def faststream_way(build: Callable[[str], NatsBroker]) -> Way:
    async def way(url: str, tag: str, args: argparse.Namespace) -> float:
        broker = build(url)
        subject = subjects.result(TEAM, tag)
        payload = b"x" * args.size
        consumed, seen = asyncio.Event(), [0]

        @subscribe(broker, spec(tag, subject, args), concurrency=args.concurrency)
        async def on_message(body: bytes) -> None:
            seen[0] += 1
            if seen[0] == args.messages:
                consumed.set()

        async def publish_one(index: int) -> None:
            await publish(broker, payload, subject, msg_id=f"{tag}:{index}")

        await broker.start()
        try:
            return await timed(publish_one, consumed, args)
        finally:
            await broker.stop()
    return way


async def raw_way(url: str, tag: str, args: argparse.Namespace) -> float:
    nc = await nats.connect(url)
    js = nc.jetstream()
    subject = subjects.result(TEAM, tag)
    payload = b"x" * args.size
    consumer = spec(tag, subject, args)
    await js.add_consumer(STREAM, consumer.config())
    sub = await js.pull_subscribe_bind(consumer.durable, STREAM)
    consumed = asyncio.Event()

    async def take() -> None:
        seen = 0
        while seen < args.messages:
            try:
                msgs = await sub.fetch(args.batch, timeout=1.0)
            except TimeoutError:  # nothing yet: fetch again
                continue
            for msg in msgs:
                await msg.ack()
            seen += len(msgs)
        consumed.set()

    async def publish_one(index: int) -> None:
        await js.publish(subject, payload, stream=STREAM,
                         headers={MSG_ID_HEADER: f"{tag}:{index}"})

    taker = asyncio.create_task(take())
    try:
        return await timed(publish_one, consumed, args)
    finally:
        taker.cancel()  # ended before closing, or its pending fetch fails on the closed link
        await asyncio.gather(taker, return_exceptions=True)
        await nc.close()


def bare_broker(url: str) -> NatsBroker:
    """No middlewares; the per-message access log as `build_broker` has it (at DEBUG under
    the root logger, so not written), or this row would measure faststream's INFO lines."""
    return NatsBroker(url, logger=logging.getLogger("triage.broker.bench-bare"),
                      log_level=logging.DEBUG)


WAYS: dict[str, Way] = {
    "faststream, build_broker": faststream_way(lambda url: build_broker(url, "bench")),
    "faststream, bare NatsBroker": faststream_way(bare_broker),
    "raw nats-py": raw_way,
}


async def run(args: argparse.Namespace) -> dict[str, list[float]]:
    rates: dict[str, list[float]] = {name: [] for name in WAYS}
    data = Path(tempfile.mkdtemp(prefix="bench-faststream-"))
    with NatsServer(data / "nats", test_admin=True) as server:
        for round_ in range(-1, args.rounds):  # round -1 warms up, discarded
            order = list(WAYS.items())
            for index, (name, way) in enumerate(order if round_ % 2 == 0 else order[::-1]):
                seconds = await way(server.admin_url, f"r{round_ + 1}-w{index}", args)
                if round_ >= 0:
                    rates[name].append(args.messages / seconds)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--size", type=int, default=1024, help="payload bytes")
    parser.add_argument("--inflight", type=int, default=32, help="publishes in flight")
    parser.add_argument("--batch", type=int, default=10, help="messages per fetch")
    parser.add_argument("--concurrency", type=int, default=8, help="CONSUMER_CONCURRENCY")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for one round")
    args = parser.parse_args()
    rates = asyncio.run(run(args))
    raw = statistics.median(rates["raw nats-py"])
    print(f"| way | msgs/s ({args.messages} x {args.size} B, {args.inflight} in flight) | "
          "min | max | / raw nats-py |\n|---|---|---|---|---|")
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"| {name} | {rate:.0f} | {min(values):.0f} | {max(values):.0f} | "
              f"{rate / raw:.3f}x |")


if __name__ == "__main__":
    main()
