"""Benchmark P4 (issue 11): a burst of questions about one repository, as in an incident.

    uv run python benchmarks/burst.py [--questions 50] [--ttls 0,2]

The sandbox stack (every service its own process, `SANDBOX_MODEL=scripted`): each question
makes the model ask for the same three GitHub reads (workflow runs, recent commits, the
incident issue), then answer. After one warm-up question, `--questions` signed mentions are
posted to the ingress at once; measured: the time until the last reply is visible at the
Slack stand-in, and the GitHub requests the stand-in received (all, and those it counted
against the token's quota: a 304 is free). One stack per `SHARED_READ_TTL_S` value, so the
variants meet the same stand-ins; the client's CPU time is reported beside.
Loopback only; every process started here is stopped by its process group.
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = "demo-org/checkout-api"
CALLS = [("github_workflow_runs", {"repo": REPO}), ("github_recent_commits", {"repo": REPO}),
         ("github_get_issue", {"repo": REPO, "number": 42})]
RULES = [{"match": {"user_contains": "<context>", "turn": 1}, "reply": {"tool_calls": [
             {"id": f"c{i}", "name": n, "arguments": json.dumps(a)}
             for i, (n, a) in enumerate(CALLS)]}},
         {"match": {"user_contains": "<context>", "turn": 2},
          "reply": {"content": "CI is red since e15da5d."}},
         {"match": {"user_contains": "</question>"}, "reply": {"content": "incident"}}]


class Burst:
    def __init__(self, plan: Any, channels: int = 1) -> None:
        self.plan = plan
        # Slack lets an app post about one message per second per channel (the notifier
        # paces to it): 50 answers in one channel take ~50 s whatever the stack does.
        self.channels = channels
        self.http = httpx.AsyncClient(timeout=30)

    def url(self, name: str, path: str) -> str:
        return str(self.plan.process(name).url) + path

    async def ask(self, i: int = 0) -> str:
        from triage_sandbox.plan import SANDBOX_TEAM
        from triage_sandbox.slack_events import app_mention, event_body, signed_headers

        channel = "C_BURST" if self.channels == 1 else f"C_BURST{i % self.channels}"
        payload = app_mention(SANDBOX_TEAM, channel, "U1", f"why is {REPO} failing?")
        body = event_body(payload)
        headers = signed_headers(self.plan.signing_secret, body, "application/json")
        answer = await self.http.post(self.url("ingress", "/slack/events"), content=body,
                                      headers=headers)
        answer.raise_for_status()
        return str(payload["event"]["ts"])  # type: ignore[index]

    async def answered(self, threads: set[str], within: float = 300.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            messages = (await self.http.get(self.url("slack", "/sandbox/messages"))).json()
            if threads <= {m.get("thread_ts") for m in messages}:
                return
            await asyncio.sleep(0.05)
        raise SystemExit(f"not every question was answered within {within}s")

    async def github(self) -> tuple[int, int]:
        calls = (await self.http.get(self.url("github", "/sandbox/calls"))).json()
        usage = (await self.http.get(self.url("github", "/sandbox/usage"))).json()
        return len(calls), sum(u["used"] for u in usage.values())

    async def run(self, questions: int) -> dict[str, float]:
        (await self.http.post(self.url("openai", "/sandbox/script"),
                              json={"rules": RULES})).raise_for_status()
        await self.answered({await self.ask()})  # warms every process up
        # Counting starts over: a fresh quota window, the stand-in's default 5,000/h.
        (await self.http.put(self.url("github", "/sandbox/limits"),
                             json={"limit": 5000})).raise_for_status()
        before, _ = await self.github()
        started, cpu = time.perf_counter(), time.process_time()
        threads = set(await asyncio.gather(*(self.ask(i) for i in range(questions))))
        await self.answered(threads)
        last = time.perf_counter() - started
        calls, counted = await self.github()
        return {"last_s": last, "requests": calls - before, "counted": counted,
                "client_cpu_s": time.process_time() - cpu}


def one_stack(ttl: str, questions: int, channels: int) -> dict[str, float]:
    from triage_sandbox.plan import make_plan
    from triage_sandbox.stack import Stack

    os.environ["SHARED_READ_TTL_S"] = ttl  # inherited by the tools process
    plan = make_plan({"LOG_LEVEL": "WARNING", "SANDBOX_MODEL": "scripted"},
                     Path(tempfile.mkdtemp(prefix="bench-burst-")), fixed_ports=False)
    stack = Stack(plan, out=open(os.devnull, "w")).start(timeout=120)  # noqa: SIM115
    try:
        burst = Burst(plan, channels)
        return asyncio.run(burst.run(questions))
    finally:
        stack.stop()


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--ttls", default="0,2", help="SHARED_READ_TTL_S values, one stack each")
    parser.add_argument("--channels", type=int, default=1,
                        help="spread the questions over this many channels (Slack paces "
                             "posts per channel)")
    args = parser.parse_args()
    print(f"{args.questions} simultaneous questions, 3 GitHub reads each "
          f"({3 * args.questions} tool calls)\n")
    print("| SHARED_READ_TTL_S | last answer s | GitHub requests | counted against quota "
          "| client CPU s |\n|---|---|---|---|---|")
    for ttl in args.ttls.split(","):
        r = one_stack(ttl, args.questions, args.channels)
        print(f"| {ttl} | {r['last_s']:.1f} | {r['requests']:.0f} | {r['counted']:.0f} | "
              f"{r['client_cpu_s']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
