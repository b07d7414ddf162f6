"""Benchmark: the investigation loop's own overhead per model turn and per tool call, as a
ratio to one bare JetStream publish→consume hop measured side by side in the same run; and a
6-call investigation end to end on the whole stack with instant stand-ins.

    uv run python benchmarks/loop_overhead.py [--runs 20] [--e2e 10]

Part 1 runs the real orchestrator (`python -m triage_orchestrator`, its own process) on a
fresh nats-server, with instant router/tools/notifier stand-ins in this process: a scripted
model asks for one tool call per turn for 5 turns, then answers. Measured per hop:
- turn overhead: a ModelResult (asking for a call) published → its ToolCall received,
- call overhead: a ToolResult published → the next ModelCall received,
against the anchor, a bare hop: a message published → received by a durable pull consumer.
Rounds alternate between the loop and the anchor so drift hits both alike.
Part 2 is the sandbox stack (every service a process) with the scripted model stand-in:
one turn of 6 parallel tool calls (PyGithub / httpx against the stand-ins), then the answer;
from the signed Slack event to the reply visible at the Slack stand-in.
Loopback only; every process started here is stopped by its process group.
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from faststream.nats import NatsBroker
from triage_contracts import subjects
from triage_contracts.broker import build_broker
from triage_contracts.bus import jetstream, publish
from triage_contracts.consume import subscribe
from triage_contracts.ids import stable_id
from triage_contracts.messages import (
    ModelCall,
    ModelResult,
    NotifyRequest,
    NotifyResult,
    RequestedToolCall,
    RequestKind,
    ToolCall,
    ToolResult,
    ToolStatus,
    TriageRequest,
)
from triage_contracts.streams import Consumers, ConsumerSpec, provision, provision_consumer
from triage_contracts.testing.natsserver import NatsServer, free_port, wait_for_port

TEAM = "TBENCH"
TURNS = 5


class Workers:
    """Instant router, tools and notifier: they answer the moment a command arrives, and
    note when each command arrived (to pair it with the answer that caused it)."""

    def __init__(self, broker: NatsBroker) -> None:
        self.broker = broker
        self.sent: dict[str, float] = {}  # "<run>:<step>" -> when its cause was published
        self.turn_gaps: list[float] = []
        self.call_gaps: list[float] = []
        self.done: dict[str, asyncio.Event] = {}

        @subscribe(broker, Consumers.ROUTER)
        async def model(call: ModelCall) -> None:
            self._arrived(call.run_id, call.step_id, self.call_gaps)
            turn = int(call.step_id.rsplit("-t", 1)[1]) if "-t" in call.step_id else 0
            calls = [] if call.route == "classify" or turn > TURNS else [RequestedToolCall(
                id=f"c{turn}", name="github.recent_commits",
                arguments=json.dumps({"repo": "bench/repo"}))]
            content = "incident" if call.route == "classify" else ("" if calls else "done")
            next_step = f"investigate-t{turn}-c0" if calls else ""
            await self._answer(ModelResult(team_id=TEAM, run_id=call.run_id,
                                           step_id=call.step_id, route=call.route,
                                           content=content, tool_calls=calls,
                                           provider="bench", model="instant"), next_step)

        @subscribe(broker, Consumers.TOOLS)
        async def tool(call: ToolCall) -> None:
            self._arrived(call.run_id, call.step_id, self.turn_gaps)
            turn = int(call.step_id.split("-t")[1].split("-c")[0])
            await self._answer(ToolResult(team_id=TEAM, run_id=call.run_id,
                                          step_id=call.step_id, tool=call.tool,
                                          status=ToolStatus.SUCCESS, data=[{"sha": "abc"}]),
                               f"investigate-t{turn + 1}")

        @subscribe(broker, Consumers.NOTIFIER)
        async def notify(request: NotifyRequest) -> None:
            await self._answer(NotifyResult(team_id=TEAM, run_id=request.run_id,
                                            step_id=request.step_id, ok=True,
                                            channel_id=request.channel_id, ts="1.1"), "")
            self.done.setdefault(request.run_id, asyncio.Event()).set()

    def _arrived(self, run_id: str, step_id: str, gaps: list[float]) -> None:
        sent = self.sent.pop(f"{run_id}:{step_id}", None)
        if sent is not None:
            gaps.append(time.perf_counter() - sent)

    async def _answer(self, result: Any, next_step: str) -> None:
        if next_step:
            self.sent[f"{result.run_id}:{next_step}"] = time.perf_counter()
        await publish(self.broker, result, subjects.result(TEAM, result.run_id),
                      msg_id=f"{result.run_id}:{result.step_id}:result")


async def bare_hops(broker: NatsBroker, count: int) -> list[float]:
    """The anchor: one durable pull consumer on the RESULTS stream, one message at a time."""
    js = jetstream(broker)
    spec = ConsumerSpec("bench-bare", "RESULTS", f"triage.result.{TEAM}.bare")
    await provision_consumer(js, spec)
    sub = await js.pull_subscribe_bind(spec.durable, spec.stream)
    gaps = []
    for index in range(count):
        started = time.perf_counter()
        await js.publish(f"triage.result.{TEAM}.bare", b'{"n": %d}' % index)
        [msg] = await sub.fetch(1, timeout=5)
        await msg.ack()
        gaps.append(time.perf_counter() - started)
    return gaps


async def one_run(workers: Workers, index: int) -> None:
    run_id = stable_id("run-", TEAM, f"bench-{time.time_ns()}-{index}")
    request = TriageRequest(team_id=TEAM, run_id=run_id, request_kind=RequestKind.MENTION,
                            event_id=run_id, channel_id="C1", user_id="U1",
                            text="why is bench failing?", thread_ts="1.0")
    done = workers.done.setdefault(run_id, asyncio.Event())
    await publish(workers.broker, request, subjects.event(TEAM, "mention"), msg_id=run_id)
    await asyncio.wait_for(done.wait(), timeout=60)


def orchestrator(nats_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "NATS_URL": nats_url, "PORT": str(port), "HOST": "127.0.0.1",
           "GITHUB_REPOS": "bench/repo", "LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "triage_orchestrator"], env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


async def part_one(runs: int) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="bench-loop-"))
    with NatsServer(data / "nats", test_admin=True) as nats:  # the bench plays the workers
        port = free_port()
        proc = orchestrator(nats.url, port)
        try:
            wait_for_port(port, timeout=60)
            broker = build_broker(nats.admin_url, "bench")
            await broker.connect()
            await provision(jetstream(broker))
            workers = Workers(broker)
            await broker.start()
            await one_run(workers, -1)  # warm-up, discarded
            workers.turn_gaps.clear()
            workers.call_gaps.clear()
            bare: list[float] = []
            for index in range(runs):  # alternate: one run, then as many bare hops
                await one_run(workers, index)
                bare += await bare_hops(broker, 2 * TURNS)
            await broker.stop()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
    return {"turn": workers.turn_gaps, "call": workers.call_gaps, "bare": bare}


def part_two(count: int) -> list[float]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from triage_sandbox.plan import SANDBOX_TEAM, make_plan
    from triage_sandbox.slack_events import app_mention, event_body, signed_headers
    from triage_sandbox.stack import Stack

    plan = make_plan({"LOG_LEVEL": "WARNING", "SANDBOX_MODEL": "scripted"},
                     Path(tempfile.mkdtemp(prefix="bench-e2e-")), fixed_ports=False)
    stack = Stack(plan, out=open(os.devnull, "w")).start(timeout=120)  # noqa: SIM115
    repo = "demo-org/checkout-api"
    calls = [("github_workflow_runs", {"repo": repo}), ("github_recent_commits", {"repo": repo}),
             ("github_list_issues", {"repo": repo}),
             ("github_get_issue", {"repo": repo, "number": 42}),
             ("prometheus_alerts", {}), ("alertmanager_alerts", {})]
    rules = [{"match": {"user_contains": "<context>", "turn": 1}, "reply": {"tool_calls": [
                 {"id": f"c{i}", "name": n, "arguments": json.dumps(a)}
                 for i, (n, a) in enumerate(calls)]}},
             {"match": {"user_contains": "<context>", "turn": 2},
              "reply": {"content": "CI is red since e15da5d."}},
             {"match": {"user_contains": "</question>"}, "reply": {"content": "incident"}}]
    try:
        httpx.post(plan.process("openai").url + "/sandbox/script", json={"rules": rules},
                   timeout=5).raise_for_status()
        times = []
        for index in range(count + 1):
            payload = app_mention(SANDBOX_TEAM, "C_BENCH", "U1", "why is checkout-api failing?")
            body = event_body(payload)
            started = time.perf_counter()
            httpx.post(plan.process("ingress").url + "/slack/events", content=body, timeout=10,
                       headers=signed_headers(plan.signing_secret, body, "application/json"))
            ts = payload["event"]["ts"]  # type: ignore[index]
            while not [m for m in httpx.get(plan.process("slack").url + "/sandbox/messages",
                                            timeout=5).json() if m.get("thread_ts") == ts]:
                time.sleep(0.005)
            if index:  # the first one warms up every process
                times.append(time.perf_counter() - started)
        return times
    finally:
        stack.stop()


def ms(values: list[float], q: float = 0.5) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--e2e", type=int, default=10)
    args = parser.parse_args()
    logging.getLogger("faststream").setLevel(logging.WARNING)  # one line per message otherwise
    one = asyncio.run(part_one(args.runs))
    bare = ms(one["bare"])
    print("| hop | n | p50 ms | p90 ms | p50 / bare hop |\n|---|---|---|---|---|")
    for name in ("turn", "call", "bare"):
        values = one[name]
        print(f"| {name} | {len(values)} | {ms(values):.2f} | {ms(values, 0.9):.2f} | "
              f"{ms(values) / bare:.1f}x |")
    if args.e2e:
        two = part_two(args.e2e)
        print(f"\n6-call investigation end to end: n={len(two)} p50 {ms(two):.0f} ms, "
              f"p90 {ms(two, 0.9):.0f} ms, max {max(two) * 1000:.0f} ms "
              f"(median {statistics.median(two) * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
