"""A real three-node nats-server cluster with JetStream on loopback, the permission matrix
enforced on every node as `NatsServer` does, for tests of replicated streams (R3), which a
single server cannot hold. Ready once every node's `/healthz` says JetStream is current
with the meta leader; stopped by process group, never by name. Fault suites kill and
restart single nodes (`kill_node`, `start_node`), freeze and thaw them (`freeze_node`,
`thaw_node`: SIGSTOP/SIGCONT, a hung node whose connections stay open, the nearest thing to
a partition without a firewall) and find a stream's leader (`leader_of`)."""

import json
import os
import secrets
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats

from ..natsauth import dev_password
from ..natsconfig import server_authorization
from ..permissions import TEST_ADMIN, names
from ..streams import provision_patiently
from .natsserver import _in_thread, free_port, nats_server_binary, wait_for_port

NODE = """
listen: 127.0.0.1:{port}
http: 127.0.0.1:{monitor}
server_name: node-{index}
log_file: "{folder}/nats.log"
jetstream {{
  store_dir: "{folder}/js"
  sync_interval: {sync}
}}
cluster {{
  name: triage-test
  listen: 127.0.0.1:{route}
  routes: [{routes}]
}}
"""


@dataclass
class Node:
    index: int
    port: int = field(default_factory=free_port)
    monitor: int = field(default_factory=free_port)
    route: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None


@dataclass
class NatsCluster:
    size: int = 3
    # `always` fsyncs before acknowledging, as production does (Jepsen found acknowledged
    # writes lost with the interval); the default keeps the other tests fast.
    sync_interval: str = "1s"
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    nodes: list[Node] = field(default_factory=list)
    _tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        """Every node, comma-separated, as NATS_URL takes them."""
        return ",".join(f"nats://127.0.0.1:{node.port}" for node in self.nodes)

    @property
    def first_url(self) -> str:
        return f"nats://127.0.0.1:{self.nodes[0].port}"

    @property
    def admin_url(self) -> str:
        return f"nats://{TEST_ADMIN}:{self.admin_password}@127.0.0.1:{self.nodes[0].port}"

    def _config(self, node: Node, folder: Path) -> str:
        routes = ", ".join(f"nats-route://127.0.0.1:{other.route}" for other in self.nodes
                           if other is not node)
        base = NODE.format(port=node.port, monitor=node.monitor, index=node.index,
                           folder=folder, route=node.route, routes=routes,
                           sync=self.sync_interval)
        passwords = {name: dev_password(name) for name in names()}
        return base + server_authorization(passwords, self.admin_password, ())

    def start(self, timeout: float = 60.0) -> "NatsCluster":
        self._tmp = tempfile.TemporaryDirectory(prefix="triage-nats-cluster-")
        self.nodes = [Node(index) for index in range(self.size)]
        for node in self.nodes:
            folder = Path(self._tmp.name) / f"node-{node.index}"
            folder.mkdir()
            conf = folder / "nats.conf"
            conf.write_text(self._config(node, folder))
            conf.chmod(0o600)
            self._launch(node)
        try:
            for node in self.nodes:
                wait_for_port(node.port, timeout=timeout)
            self._wait_current(time.monotonic() + timeout)
        except TimeoutError:
            self.stop()
            raise
        return self

    def _folder(self, node: Node) -> Path:
        assert self._tmp is not None, "the cluster is not started"
        return Path(self._tmp.name) / f"node-{node.index}"

    def _launch(self, node: Node) -> None:
        conf = self._folder(node) / "nats.conf"
        node.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(conf)], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)

    def kill_node(self, index: int) -> None:
        """SIGKILL one node: no flush, no leadership hand-over (a crashed pod)."""
        node = self.nodes[index]
        if node.process is not None and node.process.poll() is None:
            os.killpg(node.process.pid, signal.SIGKILL)
            node.process.wait(timeout=10)
        node.process = None

    def start_node(self, index: int, timeout: float = 60.0) -> None:
        """Start a killed node again on its own store; back once it is current again."""
        node = self.nodes[index]
        self._launch(node)
        wait_for_port(node.port, timeout=timeout)
        self._wait_current(time.monotonic() + timeout, [node])

    def freeze_node(self, index: int) -> None:
        """SIGSTOP one node: its sockets stay open but nothing answers (peers and clients
        find out only by their own timeouts, as across a partition)."""
        node = self.nodes[index]
        if node.process is not None and node.process.poll() is None:
            os.killpg(node.process.pid, signal.SIGSTOP)

    def thaw_node(self, index: int, timeout: float = 60.0) -> None:
        """SIGCONT a frozen node; back once it is current with the meta leader again."""
        node = self.nodes[index]
        if node.process is not None and node.process.poll() is None:
            os.killpg(node.process.pid, signal.SIGCONT)
            self._wait_current(time.monotonic() + timeout, [node])

    def provision(self, replicas: int = 3, timeout: float = 60.0) -> None:
        """Every stream, bucket and object store with `replicas` copies, as the
        provisioner identity (the chart's Job does the same)."""
        _in_thread(self._provision(replicas, timeout))

    async def _provision(self, replicas: int, timeout: float) -> None:
        nc = await nats.connect(self.url.split(","), user="provisioner",
                                password=dev_password("provisioner"),
                                inbox_prefix="_INBOX.provisioner")
        try:
            # Every node's /healthz can be ok before the meta leader places on all of them.
            await provision_patiently(nc.jetstream(), replicas, timeout)
        finally:
            await nc.close()

    def leader_of(self, stream: str) -> int | None:
        """The index of the node leading `stream`'s replicas (the monitor's /jsz), or None
        while no live node names one (an election under way)."""
        for node in self.nodes:
            if node.process is None:
                continue
            leader = _stream_leader(node, stream)
            if leader is not None:
                return next((n.index for n in self.nodes if f"node-{n.index}" == leader), None)
        return None

    def _wait_current(self, deadline: float, nodes: list[Node] | None = None) -> None:
        """Every node healthy: JetStream on and current with an elected meta leader."""
        pending = list(self.nodes if nodes is None else nodes)
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} NATS nodes not current with the meta leader")
            pending = [node for node in pending if not _healthy(node)]
            if pending:
                time.sleep(0.1)

    def stop(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                os.killpg(node.process.pid, signal.SIGTERM)
                os.killpg(node.process.pid, signal.SIGCONT)  # a frozen node must hear it
        for node in self.nodes:
            if node.process is None:
                continue
            try:
                node.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(node.process.pid, signal.SIGKILL)
                node.process.wait()
            node.process = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "NatsCluster":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def _healthy(node: Node) -> bool:
    url = f"http://127.0.0.1:{node.monitor}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(json.loads(resp.read()).get("status") == "ok")
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _stream_leader(node: Node, stream: str) -> str | None:
    url = f"http://127.0.0.1:{node.monitor}/jsz?accounts=true&streams=true"
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            report: dict[str, Any] = json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    for account in report.get("account_details") or []:
        for detail in account.get("stream_detail") or []:
            if detail.get("name") == stream:
                leader = (detail.get("cluster") or {}).get("leader")
                return str(leader) if leader else None
    return None
