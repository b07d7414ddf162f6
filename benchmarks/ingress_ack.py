"""Benchmark: ingress ack latency and throughput for signed Slack events at concurrency 50,
side by side with a bare FastAPI endpoint (the anchor) in the same run, interleaved rounds.
Also the end-to-end p50 from event to posted reply with instant stand-ins.

    uv run python benchmarks/ingress_ack.py [--requests 2000] [--rounds 3] [--e2e 20]

Loopback only; every process started here is stopped by its process group."""

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from triage_contracts.testing.natsserver import NatsServer, free_port, wait_for_port
from triage_sandbox.plan import SANDBOX_TEAM, make_plan
from triage_sandbox.slack_events import app_mention, event_body, signed_headers
from triage_sandbox.stack import Stack

SECRET = "bench-signing-secret"
HERE = Path(__file__).parent


def start(argv: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(argv, env={**os.environ, **env}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, timeout=30)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=15)


async def load(url: str, total: int, concurrency: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    counter = iter(range(total))

    async def worker(client: httpx.AsyncClient) -> None:
        for _ in counter:
            body = event_body(app_mention(SANDBOX_TEAM, "C1", "U1", "bench question"))
            headers = signed_headers(SECRET, body, "application/json")
            t0 = time.perf_counter()
            resp = await client.post(url, content=body, headers=headers)
            latencies.append(time.perf_counter() - t0)
            if resp.status_code != 200:
                raise RuntimeError(f"{url} answered {resp.status_code}: {resp.text[:200]}")

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return latencies, total / elapsed


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


def ack_benchmark(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    results: dict[str, list[tuple[list[float], float]]] = {"ingress": [], "bare": []}
    with NatsServer() as nats:
        ingress_port, bare_port = free_port(), free_port()
        ingress = start([sys.executable, "-m", "triage_ingress"], {
            "NATS_URL": nats.url, "PORT": str(ingress_port), "ROLE": "edge",
            "SLACK_SIGNING_SECRET": SECRET, "LOG_LEVEL": "WARNING"}, ingress_port)
        bare = start([sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(bare_port),
                      "--log-level", "warning", "--no-access-log", "--app-dir", str(HERE)],
                     {}, bare_port)
        try:
            urls = {"ingress": f"http://127.0.0.1:{ingress_port}/slack/events",
                    "bare": f"http://127.0.0.1:{bare_port}/slack/events"}
            for url in urls.values():  # warm-up
                asyncio.run(load(url, 200, args.concurrency))
            for _ in range(args.rounds):  # interleaved so drift hits both alike
                for name, url in urls.items():
                    results[name].append(asyncio.run(load(url, args.requests, args.concurrency)))
        finally:
            stop(ingress)
            stop(bare)
    summary = {}
    for name, rounds in results.items():
        lat = [x for latencies, _ in rounds for x in latencies]
        summary[name] = {"p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99),
                         "rps": statistics.median(rps for _, rps in rounds)}
    return summary


def e2e_benchmark(count: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        plan = make_plan({"LOG_LEVEL": "WARNING"}, Path(tmp), fixed_ports=False)
        with Stack(plan, out=open(os.devnull, "w")) as stack:  # noqa: SIM115
            ingress = plan.process("ingress").url + "/slack/events"
            slack = plan.process("slack").url + "/sandbox/messages"
            samples = []
            for i in range(count):
                payload = app_mention(SANDBOX_TEAM, "C_BENCH", "U1",
                                      f"what changed in payments-api recently? ({i})")
                body = event_body(payload)
                t0 = time.perf_counter()
                httpx.post(ingress, content=body,
                           headers=signed_headers(plan.signing_secret, body, "application/json"))
                ts = payload["event"]["ts"]  # type: ignore[index]
                while not any(m.get("thread_ts") == ts for m in httpx.get(slack).json()):
                    time.sleep(0.005)
                samples.append(time.perf_counter() - t0)
            del stack
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--e2e", type=int, default=20)
    args = parser.parse_args()
    summary = ack_benchmark(args)
    i, b = summary["ingress"], summary["bare"]
    print("| | p50 ms | p99 ms | req/s |\n|---|---|---|---|")
    for name, row in summary.items():
        print(f"| {name} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['rps']:.0f} |")
    print(f"| ratio ingress/bare | {i['p50_ms'] / b['p50_ms']:.2f}x | "
          f"{i['p99_ms'] / b['p99_ms']:.2f}x | {i['rps'] / b['rps']:.2f}x |")
    if args.e2e:
        print(f"\nend-to-end p50 (event → reply posted, {args.e2e} sequential): "
              f"{e2e_benchmark(args.e2e):.0f} ms")


if __name__ == "__main__":
    main()
