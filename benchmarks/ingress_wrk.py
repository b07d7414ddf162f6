"""Benchmark P1 (issue 11): the ingress against a bare FastAPI endpoint, driven by wrk.

    uv run python benchmarks/ingress_wrk.py [--connections 1,50] [--seconds 10] [--rounds 3]

A compiled load generator (Debian's `wrk`; `apt-get install wrk`) replays a pool of
pre-signed Slack `app_mention` requests (unique event ids, fresh timestamps) against (a) the
real ingress (`ROLE=edge`: signature check, JSON validation, durable JetStream publish of the
request and its audit event) and (b) the anchor, a bare FastAPI endpoint that reads the body
and answers 200 (`benchmarks/bare_app.py`); one uvicorn worker each. The server is pinned to
CPU 0 and wrk to CPU 1 (`taskset`), and the variants alternate round by round so drift hits
both alike. Reported: requests/s, p50/p99 from wrk, and CPU seconds per request of the server
process, of nats-server and of wrk. `--profile DIR` also records a py-spy flame graph of the
ingress during one extra round (py-spy must be on PATH).
Loopback only; every process started here is stopped by its process group.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from triage_contracts.testing.natsserver import NatsServer, free_port, stop_group, wait_for_port
from triage_sandbox.plan import SANDBOX_TEAM
from triage_sandbox.slack_events import app_mention, event_body, signed_headers

SECRET = "bench-signing-secret"
HERE = Path(__file__).parent
TICKS = os.sysconf("SC_CLK_TCK")
# wrk reads the pool in init() (per thread) and cycles through it; a request built once at
# load time was refused by uvicorn ("Invalid HTTP request"), see docs/benchmarks.md.
LUA = """
local pool = {}
function init(args)
  for line in io.lines(args[1]) do
    local ts, sig, body = line:match("^([^\\t]*)\\t([^\\t]*)\\t(.*)$")
    pool[#pool + 1] = wrk.format("POST", "/slack/events", {
      ["Content-Type"] = "application/json",
      ["X-Slack-Request-Timestamp"] = ts,
      ["X-Slack-Signature"] = sig}, body)
  end
  counter = math.random(#pool)
end
function request()
  counter = counter % #pool + 1
  return pool[counter]
end
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its waited-for children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / TICKS


def start(argv: list[str], env: dict[str, str], port: int, cpu: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(["taskset", "-c", cpu, *argv], env={**os.environ, **env},
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_for_port(port, timeout=30)
    return proc


def write_pool(path: Path, count: int) -> None:
    with path.open("w") as out:
        for i in range(count):
            body = event_body(app_mention(SANDBOX_TEAM, "C1", "U1", f"bench question {i}"))
            headers = signed_headers(SECRET, body, "application/json")
            out.write(f"{headers['X-Slack-Request-Timestamp']}\t{headers['X-Slack-Signature']}"
                      f"\t{body.decode()}\n")


def parse_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, connections: int, seconds: int, pool: Path, script: Path) -> dict[str, float]:
    out = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s",
         "--latency", "-s", str(script), url, "--", str(pool)],
        capture_output=True, text=True, check=True).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise RuntimeError(f"{url}: {non_2xx.group(1)} error answers\n{out}")
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
            "requests": float(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
            "p50_ms": parse_ms(latency["50"]), "p99_ms": parse_ms(latency["99"])}


class Round:
    """One wrk run with the CPU the server, nats-server and wrk spent on it."""

    def __init__(self, server: subprocess.Popen[bytes], nats_pid: int) -> None:
        self.pids = {"server": server.pid, "nats": nats_pid}

    def run(self, url: str, args: argparse.Namespace, connections: int,
            pool: Path, script: Path) -> dict[str, float]:
        before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        wrk_before = os.times()
        result = wrk(url, connections, args.seconds, pool, script)
        wrk_after = os.times()
        for name, pid in self.pids.items():
            result[f"{name}_cpu_ms"] = (cpu_seconds(pid) - before[name]) * 1000 / result["requests"]
        spent = (wrk_after.children_user - wrk_before.children_user
                 + wrk_after.children_system - wrk_before.children_system)
        result["wrk_cpu_ms"] = spent * 1000 / result["requests"]
        return result


def profile(pid: int, out: Path, url: str, args: argparse.Namespace, pool: Path,
            script: Path) -> None:
    spy = subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--output", str(out),
                            "--duration", str(args.seconds), "--rate", "200", "--nonblocking"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           start_new_session=True)
    wrk(url, 50, args.seconds, pool, script)
    spy.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", default="1,50")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pool", type=int, default=60000)
    parser.add_argument("--profile", type=Path, help="folder for a py-spy flame graph (SVG)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    results: dict[tuple[str, int], list[dict[str, float]]] = {}
    with NatsServer() as nats, tempfile.TemporaryDirectory() as tmp:
        script, pool = Path(tmp) / "pool.lua", Path(tmp) / "pool.tsv"
        script.write_text(LUA)
        ingress_port, bare_port = free_port(), free_port()
        ingress = start([sys.executable, "-m", "triage_ingress"], {
            "NATS_URL": nats.url, "PORT": str(ingress_port), "ROLE": "edge",
            "SLACK_SIGNING_SECRET": SECRET, "LOG_LEVEL": "WARNING"}, ingress_port, "0")
        bare = start([sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(bare_port),
                      "--log-level", "warning", "--no-access-log", "--app-dir", str(HERE)],
                     {}, bare_port, "0")
        servers = {"ingress": (ingress, ingress_port), "bare": (bare, bare_port)}
        try:
            for rnd in range(args.rounds + 1):  # round 0 warms up and is discarded
                for connections in (int(c) for c in args.connections.split(",")):
                    for name, (proc, port) in servers.items():
                        write_pool(pool, args.pool)  # fresh timestamps and event ids
                        url = f"http://127.0.0.1:{port}/slack/events"
                        row = Round(proc, nats.process.pid).run(url, args, connections, pool,
                                                                script)
                        if rnd:
                            results.setdefault((name, connections), []).append(row)
            if args.profile:
                args.profile.mkdir(parents=True, exist_ok=True)
                write_pool(pool, args.pool)
                profile(ingress.pid, args.profile / "ingress.svg",
                        f"http://127.0.0.1:{ingress_port}/slack/events", args, pool, script)
        finally:
            stop_group(ingress)
            stop_group(bare)
    report(results)


def report(results: dict[tuple[str, int], list[dict[str, float]]]) -> None:
    med = {key: {field: statistics.median(r[field] for r in rows) for field in rows[0]}
           for key, rows in results.items()}
    print("| server | connections | req/s | p50 ms | p99 ms | server CPU ms/req | "
          "nats-server CPU ms/req | wrk CPU ms/req |")
    print("|---|---|---|---|---|---|---|---|")
    for (name, conns), row in sorted(med.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        print(f"| {name} | {conns} | {row['rps']:.0f} | {row['p50_ms']:.2f} "
              f"| {row['p99_ms']:.2f} | {row['server_cpu_ms']:.3f} | {row['nats_cpu_ms']:.3f} "
              f"| {row['wrk_cpu_ms']:.3f} |")
    for conns in sorted({c for _, c in med}):
        i, b = med[("ingress", conns)], med[("bare", conns)]
        print(f"| **ingress / bare** | {conns} | **{i['rps'] / b['rps']:.2f}×** | "
              f"{i['p50_ms'] / b['p50_ms']:.2f}× | {i['p99_ms'] / b['p99_ms']:.2f}× | "
              f"{i['server_cpu_ms'] / b['server_cpu_ms']:.2f}× | | |")
    print(json.dumps({f"{n}@{c}": r for (n, c), r in med.items()}))


if __name__ == "__main__":
    main()
