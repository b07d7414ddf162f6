"""Benchmark (issue 11): the saturation curve of the whole stack, and CPU per run per service.

    uv run python benchmarks/saturation.py [--rates 5,10,20,40,80] [--seconds 30]

The sandbox stack (every service its own process, scripted model stand-in, instant
stand-ins): each question makes the model ask for three GitHub reads (as in P4), then answer.
For each offered rate, signed mentions are sent open-loop (at fixed times, whatever the
answers do) for `--seconds`, spread over many channels so Slack's per-channel pacing is not
what is measured; then the stage drains before the next one starts. Measured per stage:
completed runs/s (answers / time from the first question to the last answer), event → answer
p50/p99 (the answer's Slack timestamp, edit time included, minus the send time), and the CPU
each process spent per run (from /proc), the sender's own CPU beside it.

`TEAM_MAX_ACTIVE_RUNS=0` by default (one sandbox team would otherwise meet its fair share,
which is what users get, not what the stack can do); `--fair-share` keeps the default cap.
Loopback only; every process started here is stopped by its process group.
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from burst import RULES  # noqa: E402  (the same scripted question as P4)
from ingress_wrk import cpu_seconds  # noqa: E402

ANSWER_MARK = "e15da5d"  # in the scripted answer, not in placeholders or statuses
CHANNELS = 1000


class Stage:
    def __init__(self, plan: Any, http: httpx.AsyncClient) -> None:
        self.plan, self.http = plan, http
        self.sent: dict[str, float] = {}  # question ts -> wall time sent
        self.failed = 0

    def url(self, name: str, path: str) -> str:
        return str(self.plan.process(name).url) + path

    async def ask(self, i: int) -> None:
        from triage_sandbox.plan import SANDBOX_TEAM
        from triage_sandbox.slack_events import app_mention, event_body, signed_headers

        payload = app_mention(SANDBOX_TEAM, f"C_SAT{i % CHANNELS:04d}", "U1",
                              f"why is demo-org/checkout-api failing? ({i})")
        body = event_body(payload)
        headers = signed_headers(self.plan.signing_secret, body, "application/json")
        sent = time.time()
        try:
            answer = await self.http.post(self.url("ingress", "/slack/events"), content=body,
                                          headers=headers)
            answer.raise_for_status()
        except httpx.HTTPError:
            self.failed += 1
            return
        self.sent[str(payload["event"]["ts"])] = sent  # type: ignore[index]

    async def offer(self, rate: float, seconds: float) -> None:
        """Open loop: question i leaves at start + i/rate, however long earlier ones take."""
        start, tasks = time.monotonic(), []
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            tasks.append(asyncio.create_task(self.ask(i)))
        await asyncio.gather(*tasks)

    async def answers(self) -> dict[str, float]:
        messages = (await self.http.get(self.url("slack", "/sandbox/messages"))).json()
        found = {}
        for m in messages:
            if m.get("thread_ts") in self.sent and ANSWER_MARK in (m.get("text") or ""):
                found[m["thread_ts"]] = float((m.get("edited") or m)["ts"])
        return found

    async def drain(self, within: float) -> dict[str, float]:
        deadline = time.monotonic() + within
        while True:
            found = await self.answers()
            if len(found) >= len(self.sent) or time.monotonic() > deadline:
                return found
            await asyncio.sleep(1.0)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


async def run_stage(plan: Any, pids: dict[str, int], rate: float,
                    args: argparse.Namespace) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        stage = Stage(plan, http)
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        client_before = time.process_time()
        await stage.offer(rate, args.seconds)
        client_cpu = time.process_time() - client_before
        found = await stage.drain(args.drain)
        cpu = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    first = min(stage.sent.values(), default=0.0)
    latencies = [found[ts] - stage.sent[ts] for ts in found]
    done = len(found)
    span = (max(found.values()) - first) if found else float("nan")
    return {"rate": rate, "sent": len(stage.sent), "refused": stage.failed, "answered": done,
            "runs_per_s": done / span if done else 0.0, "p50": statistics.median(latencies)
            if latencies else float("nan"), "p99": pct(latencies, 0.99),
            "cpu_ms_per_run": {n: 1000 * c / max(done, 1) for n, c in cpu.items()},
            "client_cpu_ms_per_run": 1000 * client_cpu / max(done, 1)}


def start_stack(fair_share: bool) -> tuple[Any, Any]:
    from triage_sandbox.plan import make_plan
    from triage_sandbox.stack import Stack

    if not fair_share:
        os.environ["TEAM_MAX_ACTIVE_RUNS"] = "0"  # inherited by the orchestrator
    plan = make_plan({"LOG_LEVEL": "WARNING", "SANDBOX_MODEL": "scripted"},
                     Path(tempfile.mkdtemp(prefix="bench-saturation-")), fixed_ports=False)
    stack = Stack(plan, out=open(os.devnull, "w")).start(timeout=120)  # noqa: SIM115
    return plan, stack


async def prepare(plan: Any) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        base = {n: str(plan.process(n).url) for n in ("openai", "github")}
        (await http.post(base["openai"] + "/sandbox/script", json={"rules": RULES})
         ).raise_for_status()
        # Instant stand-ins: GitHub's quota is P4's subject, not this curve's.
        (await http.put(base["github"] + "/sandbox/limits", json={"limit": 10_000_000})
         ).raise_for_status()


@contextmanager
def profiling(pids: dict[str, int], folder: Path | None, seconds: float) -> Iterator[None]:
    """py-spy on every service for the offered load of a stage (not its drain)."""
    if folder is None:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    spies = [subprocess.Popen(
        ["py-spy", "record", "--pid", str(pid), "--nonblocking", "--rate", "100",
         "--duration", str(int(seconds)), "--format", fmt, "--output",
         str(folder / f"{name}.{ext}")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        for name, pid in pids.items() if name != "nats-server"
        for fmt, ext in (("flamegraph", "svg"), ("raw", "txt"))]
    try:
        yield
    finally:
        for spy in spies:
            spy.wait(timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="5,10,20,40,80")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--drain", type=float, default=240.0,
                        help="longest wait for a stage's last answers")
    parser.add_argument("--fair-share", action="store_true")
    parser.add_argument("--profile", type=Path,
                        help="folder for py-spy flame graphs (SVG) and collapsed stacks of "
                             "every service during the last stage (py-spy on PATH)")
    args = parser.parse_args()
    plan, stack = start_stack(args.fair_share)
    try:
        from triage_sandbox.plan import SERVICES

        # The services only (the ingress process is edge and notifier); not the stand-ins.
        pids = {name: child.pid for name, child in stack.children.items() if name in SERVICES}
        pids["nats-server"] = stack.nats.process.pid
        asyncio.run(prepare(plan))
        asyncio.run(run_stage(plan, pids, 1.0, argparse.Namespace(seconds=3, drain=60)))
        rates = [float(r) for r in args.rates.split(",")]
        rows = [asyncio.run(run_stage(plan, pids, r, args)) for r in rates[:-1]]
        with profiling(pids, args.profile, args.seconds):
            rows.append(asyncio.run(run_stage(plan, pids, rates[-1], args)))
    finally:
        stack.stop()
    report(rows, sorted(pids))


def report(rows: list[dict[str, Any]], names: list[str]) -> None:
    print("| offered/s | sent | answered | completed runs/s | p50 s | p99 s |\n"
          "|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['rate']:.0f} | {r['sent']} | {r['answered']} | {r['runs_per_s']:.1f} | "
              f"{r['p50']:.2f} | {r['p99']:.2f} |")
    print("\nCPU ms per answered run:\n")
    print("| offered/s | " + " | ".join(names) + " | all services | sender |")
    print("|---" * (len(names) + 3) + "|")
    for r in rows:
        cpu = r["cpu_ms_per_run"]
        print(f"| {r['rate']:.0f} | " + " | ".join(f"{cpu[n]:.1f}" for n in names)
              + f" | {sum(cpu.values()):.1f} | {r['client_cpu_ms_per_run']:.1f} |")


if __name__ == "__main__":
    main()
