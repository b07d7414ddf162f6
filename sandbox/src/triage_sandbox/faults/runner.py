"""Running a fault suite: the 3-node cluster (fsync before ack, R3), the stack on it with
the notifier apart from the edge and `replicas` processes of each worker, the load, the
approver and the schedule side by side, then a bounded wait for every acknowledged run to
be answered and audited, and the records gathered for the verdict. Every process is
stopped by process group whatever happens."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
from triage_contracts.testing.natscluster import NatsCluster

from ..plan import SANDBOX_TEAM, Plan, add_replica, make_plan, split_notifier
from ..stack import Stack
from .approver import Approver
from .load import Load, LoadPlan
from .schedule import MODEL_TIMEOUT_S, Fault, Targets, run_schedule
from .verdict import Records, Verdict, judge

WORKERS = ("orchestrator", "tools", "router", "notifier")


@dataclass
class Suite:
    runs: int
    rate: float
    schedule: Callable[[Targets], list[Fault]]
    replicas: int = 2
    write_every: int = 10
    drain_s: float = 180.0  # after the load and the faults: the bound on "stuck"
    settle_s: float = 5.0  # lets a wrongly repeated post show up before counting
    # The router's OpenAI target on the scripted stand-in (which refuses every request
    # unless slowed: the offline target behind it answers), so a model can time out.
    scripted_model: bool = False


def build_plan(cluster: NatsCluster, data_dir: Path, replicas: int,
               scripted_model: bool = False) -> Plan:
    env = {"LOG_LEVEL": "WARNING", "NATS_URL": cluster.url}
    if scripted_model:
        env["SANDBOX_MODEL"] = "scripted"
    plan = make_plan(env, data_dir, fixed_ports=False)
    if scripted_model:
        plan.process("router").env["MODEL_TIMEOUT_S"] = str(MODEL_TIMEOUT_S)
    split_notifier(plan)
    for name in WORKERS:
        for index in range(2, replicas + 1):
            add_replica(plan, name, index)
    return plan


def run_suite(suite: Suite, data_dir: Path, out: IO[str]) -> Verdict:
    with NatsCluster(sync_interval="always") as cluster:
        cluster.provision(replicas=3)
        plan = build_plan(cluster, data_dir, suite.replicas, suite.scripted_model)
        stack = Stack(plan, out=out)
        stack.start(timeout=240)
        try:
            return _exercise(suite, stack, cluster)
        finally:
            stack.stop()


def _exercise(suite: Suite, stack: Stack, cluster: NatsCluster) -> Verdict:
    load = Load(LoadPlan(stack.plan.process("ingress").url, stack.plan.signing_secret,
                         SANDBOX_TEAM, suite.runs, suite.rate, suite.write_every))
    approver = Approver(stack.plan.process("approval").url)
    faults = suite.schedule(Targets(stack, cluster))
    stop, faults_over = threading.Event(), threading.Event()

    def schedule() -> None:
        run_schedule(faults, time.monotonic(), stop)
        faults_over.set()  # every fault has ended (the schedule restarts what it killed)
    threads = [threading.Thread(target=load.run, args=(faults_over,), daemon=True),
               threading.Thread(target=approver.run, daemon=True),
               threading.Thread(target=schedule, daemon=True)]
    for thread in threads:
        thread.start()
    try:
        load.done.wait()
        collector = Collector(stack, load, approver, faults)
        collector.drain(time.monotonic() + suite.drain_s)
        time.sleep(suite.settle_s)
        return collector.verdict()
    finally:
        stop.set()
        approver.stop.set()


class Collector:
    """Gathers the records from the stand-ins and the audit service."""

    def __init__(self, stack: Stack, load: Load, approver: Approver,
                 faults: list[Fault]) -> None:
        self.stack, self.load, self.approver, self.faults = stack, load, approver, faults
        self.audited: set[str] = set()

    def _get(self, name: str, path: str) -> Any:
        resp = httpx.get(self.stack.plan.process(name).url + path, timeout=30)
        resp.raise_for_status()
        return resp.json()

    def _audited_runs(self) -> set[str]:
        for sent in self.load.sent:
            if sent.acked and sent.run_id not in self.audited:
                url = f"{self.stack.plan.process('audit').url}/audit/{SANDBOX_TEAM}/runs/"
                if httpx.get(url + sent.run_id, timeout=30).status_code == 200:
                    self.audited.add(sent.run_id)
        return self.audited

    def verdict(self) -> Verdict:
        verified = self._get("audit", f"/audit/{SANDBOX_TEAM}/verify")
        return judge(Records(
            sent=list(self.load.sent), messages=self._get("slack", "/sandbox/messages"),
            comments=self._get("github", "/sandbox/comments"),
            approved_runs=set(self.approver.approved_runs), audit_ok=bool(verified["ok"]),
            audited_runs=set(self._audited_runs()), faults=self.faults))

    def drain(self, deadline: float) -> Verdict:
        """Wait, within the bound, until nothing is stuck, unwritten or unaudited."""
        while True:
            verdict = self.verdict()
            settled = not (verdict.stuck or verdict.missing_writes or verdict.unaudited)
            if settled or time.monotonic() > deadline:
                return verdict
            time.sleep(2.0)
