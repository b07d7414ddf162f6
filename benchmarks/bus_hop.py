"""Benchmark (issue 11): a model or tool call over the bus against the same call made in
process, with an instant handler, so what is measured is what the bus hop adds.

    uv run python benchmarks/bus_hop.py [--calls 300] [--burst 2000] [--inflight 32] \
        [--concurrency 8] [--rounds 5] [--handler-ms 0]

- bus hop: the caller (this process, a broker from `build_broker` as the orchestrator's)
  publishes the real command (`ToolCall` / `ModelCall`) on the WORK stream with
  `bus.publish`; a worker process (this file with `worker`, started in its own session and
  stopped by its process group) consumes it with `consume.subscribe` and the real
  `Consumers.TOOLS` / `Consumers.ROUTER` spec, answers at once with the result message
  (`ToolResult` / `ModelResult`) on the RESULTS stream, as the tools and router services do;
  the caller takes it from the durable `Consumers.ORCHESTRATOR_RESULTS` consumer and
  resolves the waiting call. Both consumers run `--concurrency` handlers at once (the
  services' CONSUMER_CONCURRENCY, default 8).
- direct call: the same handler function awaited in this process.
Per round, for each kind of call: `--calls` calls one at a time (latency), then `--burst`
calls with `--inflight` in flight (throughput); bus and direct alternate, and their order
flips every round so drift on a shared machine hits both alike. Latency percentiles are
over every call of every round, throughput the median of the rounds.
With `--handler-ms`, both variants' handler waits that long first (an I/O wait, as on a
model or an API): the throughput ratio then says what the bus costs a call that takes time
(at most `--concurrency` calls are handled at once over the bus, `--inflight` directly).
nats-server: file store, `sync_interval: always` (production's). Loopback only; a result
that never arrives within `--timeout` seconds ends the run with an error.
"""

import argparse
import asyncio
import itertools
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from faststream.nats import NatsBroker
from triage_contracts import subjects
from triage_contracts.broker import build_broker
from triage_contracts.bus import publish
from triage_contracts.consume import subscribe
from triage_contracts.messages import (
    ChatMessage,
    ModelCall,
    ModelResult,
    RunResult,
    ToolCall,
    ToolResult,
    ToolStatus,
)
from triage_contracts.streams import Consumers
from triage_contracts.testing.natsserver import NatsServer, stop_group
from triage_contracts.tools import wire_name

TEAM = "TBENCH"
TOOL = "github.recent_commits"
URL_ENV = "BUS_HOP_NATS_URL"  # the admin URL carries a password: not on the command line


WORK_S = 0.0  # --handler-ms: how long each handler waits, as on a model's or API's answer


async def answer_tool(call: ToolCall) -> ToolResult:
    """The instant tool: the handler both variants run."""
    if WORK_S:
        await asyncio.sleep(WORK_S)
    return ToolResult(team_id=call.team_id, run_id=call.run_id, step_id=call.step_id,
                      tool=call.tool, status=ToolStatus.SUCCESS, data=[{"sha": "abc"}])


async def answer_model(call: ModelCall) -> ModelResult:
    """The instant model: the handler both variants run."""
    if WORK_S:
        await asyncio.sleep(WORK_S)
    return ModelResult(team_id=call.team_id, run_id=call.run_id, step_id=call.step_id,
                       route=call.route, content="done", provider="bench", model="instant")


STEPS = itertools.count()  # every call its own step: results are matched by run and step


def tool_call(index: int) -> ToolCall:
    return ToolCall(team_id=TEAM, run_id=f"run-{index // 6}", step_id=f"s{next(STEPS)}",
                    tool=TOOL, arguments={"repo": "bench/repo"})


def model_call(index: int) -> ModelCall:
    return ModelCall(team_id=TEAM, run_id=f"run-{index // 6}", step_id=f"s{next(STEPS)}",
                     route="investigate",
                     messages=[ChatMessage(role="user", content="why is bench failing?")])


KINDS: dict[str, tuple[Callable[[int], Any], Callable[[Any], Awaitable[Any]], str]] = {
    "tool": (tool_call, answer_tool, "tool"),
    "model": (model_call, answer_model, "model"),
}


# --- the worker process: tools and router stand-ins ----------------------------------------


async def worker(concurrency: int) -> None:
    broker = build_broker(os.environ[URL_ENV], "tools")

    @subscribe(broker, Consumers.TOOLS, concurrency=concurrency)
    async def on_tool(call: ToolCall) -> None:
        await answer(broker, await answer_tool(call))

    @subscribe(broker, Consumers.ROUTER, concurrency=concurrency)
    async def on_model(call: ModelCall) -> None:
        await answer(broker, await answer_model(call))

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await broker.start()
    await stop.wait()
    await broker.stop()


async def answer(broker: NatsBroker, result: ToolResult | ModelResult) -> None:
    await publish(broker, result, subjects.result(result.team_id, result.run_id),
                  msg_id=f"{result.run_id}:{result.step_id}:result")


# --- the caller: the orchestrator's side -------------------------------------------------


class Caller:
    """Publishes commands and waits for their results from the durable RESULTS consumer."""

    def __init__(self, broker: NatsBroker, concurrency: int, timeout: float) -> None:
        self.broker, self.timeout = broker, timeout
        self.waiting: dict[str, asyncio.Future[Any]] = {}

        @subscribe(broker, Consumers.ORCHESTRATOR_RESULTS, concurrency=concurrency)
        async def on_result(result: RunResult) -> None:
            future = self.waiting.pop(f"{result.run_id}:{result.step_id}", None)
            if future is not None and not future.done():
                future.set_result(result)

    async def call(self, message: ToolCall | ModelCall, kind: str, name: str) -> Any:
        key = f"{message.run_id}:{message.step_id}"
        future = self.waiting[key] = asyncio.get_running_loop().create_future()
        await publish(self.broker, message, subjects.work(kind, TEAM, name),
                      msg_id=f"{key}:{kind}")
        try:
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            raise SystemExit(f"no result for {kind} call {key} within {self.timeout}s") from None


async def in_flight(count: int, width: int, one: Callable[[int], Awaitable[Any]]) -> float:
    """Seconds to run `one(0..count-1)` with `width` of them in flight at any time."""
    indexes = iter(range(count))

    async def lane() -> None:
        for index in indexes:  # lanes share the iterator: each index runs once
            await one(index)

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(width)))
    return time.perf_counter() - started


def variants(caller: Caller, kind: str) -> dict[str, Callable[[int], Awaitable[Any]]]:
    make, handler, wire = KINDS[kind]
    name = wire_name(TOOL) if kind == "tool" else "investigate"

    async def bus(index: int) -> Any:
        return await caller.call(make(index), wire, name)

    async def direct(index: int) -> Any:
        return await handler(make(index))

    return {"bus hop": bus, "direct": direct}


async def latencies(one: Callable[[int], Awaitable[Any]], count: int) -> list[float]:
    gaps = []
    for index in range(count):
        started = time.perf_counter()
        await one(index)
        gaps.append(time.perf_counter() - started)
    return gaps


async def measure(caller: Caller, args: argparse.Namespace) -> dict[tuple[str, str], Any]:
    stats: dict[tuple[str, str], Any] = {}
    for kind in KINDS:
        for name, one in variants(caller, kind).items():  # warm-up: first use, discarded
            await latencies(one, 20)
            stats[(kind, name)] = {"lat": [], "rate": []}
    for round_ in range(args.rounds):
        for kind in KINDS:
            order = list(variants(caller, kind).items())
            for name, one in order if round_ % 2 == 0 else order[::-1]:
                stats[(kind, name)]["lat"] += await latencies(one, args.calls)
                seconds = await in_flight(args.burst, args.inflight, one)
                stats[(kind, name)]["rate"].append(args.burst / seconds)
    return stats


def start_worker(url: str, concurrency: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, URL_ENV: url}
    return subprocess.Popen([sys.executable, __file__, "worker", "--concurrency",
                             str(concurrency), "--handler-ms", str(WORK_S * 1000)],
                            env=env, start_new_session=True)


async def run(args: argparse.Namespace) -> dict[tuple[str, str], Any]:
    data = Path(tempfile.mkdtemp(prefix="bench-bushop-"))
    with NatsServer(data / "nats", test_admin=True) as nats:
        proc = start_worker(nats.admin_url, args.concurrency)
        try:
            broker = build_broker(nats.admin_url, "orchestrator")
            caller = Caller(broker, args.concurrency, args.timeout)
            await broker.start()
            try:
                stats = await measure(caller, args)
            finally:
                await broker.stop()
            if proc.poll() is not None:
                raise SystemExit(f"the worker exited with {proc.returncode}")
            return stats
        finally:
            stop_group(proc)


def ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(stats: dict[tuple[str, str], Any], args: argparse.Namespace) -> None:
    print(f"| call | variant | p50 ms | p99 ms | calls/s at {args.inflight} in flight | "
          "added p50 ms | throughput / direct |\n|---|---|---|---|---|---|---|")
    for kind in KINDS:
        direct = stats[(kind, "direct")]
        for name in ("bus hop", "direct"):
            row = stats[(kind, name)]
            rate = statistics.median(row["rate"])
            added = ms(row["lat"], 0.5) - ms(direct["lat"], 0.5)
            ratio = rate / statistics.median(direct["rate"])
            print(f"| {kind} | {name} | {ms(row['lat'], 0.5):.3f} | {ms(row['lat'], 0.99):.3f} "
                  f"| {rate:.0f} | {added:.3f} | {ratio:.3f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", choices=("bench", "worker"), default="bench")
    parser.add_argument("--calls", type=int, default=300, help="calls one at a time, per round")
    parser.add_argument("--burst", type=int, default=2000, help="calls in flight, per round")
    parser.add_argument("--inflight", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=8, help="CONSUMER_CONCURRENCY")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds for one result")
    parser.add_argument("--handler-ms", type=float, default=0.0,
                        help="each handler waits this long (0: instant, the issue's setting)")
    args = parser.parse_args()
    global WORK_S
    WORK_S = args.handler_ms / 1000
    logging.getLogger("faststream").setLevel(logging.WARNING)
    if args.mode == "worker":
        asyncio.run(worker(args.concurrency))
        return
    report(asyncio.run(run(args)), args)


if __name__ == "__main__":
    main()
