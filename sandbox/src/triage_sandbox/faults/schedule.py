"""Bounded faults on a schedule. A fault begins at `at` seconds after the load starts and
ends `duration` seconds later, whatever happens in between: a killed process is started
again, an injected upstream failure is cleared. The times each one really began and
ended (a restart waits for readiness) are recorded for the verdict."""

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from triage_contracts.testing.natscluster import NatsCluster

from ..stack import Stack

# The router's model timeout in a suite on the scripted model: short, so a slow vendor
# shows within a fault's seconds (production's is 60 s).
MODEL_TIMEOUT_S = 5.0


@dataclass
class Fault:
    name: str
    at: float
    duration: float
    begin: Callable[[], str]  # returns what exactly it hit (e.g. which NATS node)
    end: Callable[[], None]
    target: str = ""
    began: float = 0.0  # wall clock
    ended: float = 0.0
    error: str = ""


@dataclass
class Targets:
    """What faults act on: the stack's processes, the cluster's nodes, the stand-ins."""

    stack: Stack
    cluster: NatsCluster
    hit: dict[str, Any] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return self.stack.plan.process(name).url

    def kill(self, name: str, at: float, duration: float) -> Fault:
        def begin() -> str:
            self.stack.kill(name)  # SIGKILL to its process group: no clean-up
            return name

        def end() -> None:
            self.stack.spawn(name)
            self.stack.wait_ready(name, timeout=120)
        return Fault(f"SIGKILL {name}", at, duration, begin, end)

    def nats_node(self, at: float, duration: float, leader_of: str | None) -> Fault:
        """A NATS node killed and restarted; with `leader_of`, the node leading that stream."""
        def begin() -> str:
            index = self.cluster.leader_of(leader_of) if leader_of else None
            self.hit["node"] = index if index is not None else len(self.cluster.nodes) - 1
            self.cluster.kill_node(self.hit["node"])
            role = f"leader of {leader_of}" if index is not None else "a follower"
            return f"node-{self.hit['node']} ({role})"

        def end() -> None:
            self.cluster.start_node(self.hit["node"], timeout=120)
        name = f"SIGKILL NATS node, {'the ' + leader_of + ' leader' if leader_of else 'any'}"
        return Fault(name, at, duration, begin, end)

    def nats_frozen(self, at: float, duration: float, leader_of: str = "WORK") -> Fault:
        """The node leading `leader_of` SIGSTOPped, then SIGCONTed: the partition stand-in
        (no firewall or network namespace here). Its TCP connections stay open and silent,
        so clients and peers must notice by their own timeouts, as across a partition."""
        def begin() -> str:
            index = self.cluster.leader_of(leader_of)
            self.hit["frozen"] = index if index is not None else len(self.cluster.nodes) - 1
            self.cluster.freeze_node(self.hit["frozen"])
            role = f"leader of {leader_of}" if index is not None else "a follower"
            return f"node-{self.hit['frozen']} ({role})"

        def end() -> None:
            if "frozen" in self.hit:  # always thawed, whatever happened meanwhile
                self.cluster.thaw_node(self.hit.pop("frozen"), timeout=120)
        return Fault("NATS node frozen (SIGSTOP, partition stand-in)", at, duration, begin, end)

    def audit_db_locked(self, at: float, duration: float) -> Fault:
        """The audit database unavailable to writers: another connection holds SQLite's
        exclusive lock (longer than the service's busy timeout, so its writes fail)."""
        path = self.stack.plan.data_dir / "audit.db"

        def begin() -> str:
            holder = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.hit["lock"] = holder
            holder.execute("BEGIN EXCLUSIVE")
            return path.name

        def end() -> None:
            holder = self.hit.pop("lock", None)
            if holder is not None:
                holder.close()  # rolls back the empty transaction: the lock is gone
        return Fault("audit SQLite locked (BEGIN EXCLUSIVE held)", at, duration, begin, end)

    def github_limits(self, name: str, spec: Callable[[], dict[str, Any]], at: float,
                      duration: float) -> Fault:
        """GitHub's limits set to `spec` for the fault, then back to the default quota."""
        url = f"{self.url('github')}/sandbox/limits"

        def begin() -> str:
            httpx.put(url, json=spec(), timeout=10).raise_for_status()
            return "github"

        def end() -> None:
            httpx.put(url, json={}, timeout=10).raise_for_status()
        return Fault(name, at, duration, begin, end)

    def github_quota_spent(self, at: float, duration: float) -> Fault:
        """Every request refused 403 with Remaining 0 and a Reset at the fault's end."""
        def spec() -> dict[str, Any]:  # the end is known when the fault begins
            return {"spent_until": int(time.time() + duration)}
        return self.github_limits("GitHub quota spent (403, resets at the end)", spec,
                                  at, duration)

    def github_secondary(self, at: float, duration: float) -> Fault:
        return self.github_limits("GitHub secondary limit (429 Retry-After)",
                                  lambda: {"secondary_per_minute": 2}, at, duration)

    def model_slow(self, at: float, duration: float,
                   delay_s: float = 2 * MODEL_TIMEOUT_S) -> Fault:
        return self.standin_fault(f"model answers after {delay_s:g} s (past its timeout)",
                                  "openai", {"delay_s": delay_s}, at, duration)

    def standin_fault(self, name: str, standin: str, spec: dict[str, Any], at: float,
                      duration: float) -> Fault:
        """An upstream failure the stand-in serves until the fault ends."""
        def begin() -> str:
            httpx.post(f"{self.url(standin)}/sandbox/faults", json=spec,
                       timeout=10).raise_for_status()
            return standin

        def end() -> None:
            httpx.delete(f"{self.url(standin)}/sandbox/faults", timeout=10).raise_for_status()
        return Fault(name, at, duration, begin, end)

    def slack_5xx(self, at: float, duration: float) -> Fault:
        spec = {"method": "chat.postMessage", "error": "internal_error", "status": 503,
                "times": 100_000}
        return self.standin_fault("Slack answers 503", "slack", spec, at, duration)

    def slack_slow(self, at: float, duration: float, delay_s: float = 4.0) -> Fault:
        spec = {"method": "chat.postMessage", "error": None, "delay_s": delay_s,
                "times": 100_000}
        return self.standin_fault(f"Slack answers after {delay_s:g} s", "slack", spec, at,
                                  duration)

    def github_502(self, at: float, duration: float) -> Fault:
        spec = {"status": 502, "count": 100_000, "path": "/repos"}
        return self.standin_fault("GitHub answers 502", "github", spec, at, duration)


def run_schedule(faults: list[Fault], started: float, stop: threading.Event) -> None:
    """Apply each fault in turn (they must not overlap: each one's effect is measured
    alone). `started` is the load's monotonic start."""
    for fault in sorted(faults, key=lambda f: f.at):
        if stop.wait(max(0.0, started + fault.at - time.monotonic())):
            return
        fault.began = time.time()
        try:
            fault.target = fault.begin()
            stop.wait(fault.duration)
        except Exception as exc:  # a fault that could not be applied is reported, not hidden
            fault.error = f"{type(exc).__name__}: {exc}"
        finally:
            try:
                fault.end()
            except Exception as exc:
                fault.error += f" end: {type(exc).__name__}: {exc}"
            fault.ended = time.time()
