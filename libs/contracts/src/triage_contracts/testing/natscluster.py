"""A real three-node nats-server cluster with JetStream on loopback, the permission matrix
enforced on every node as `NatsServer` does, for tests of replicated streams (R3), which a
single server cannot hold. Ready once every node's `/healthz` says JetStream is current
with the meta leader; stopped by process group, never by name."""

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

from ..natsauth import dev_password
from ..natsconfig import server_authorization
from ..permissions import TEST_ADMIN, names
from .natsserver import free_port, nats_server_binary, wait_for_port

NODE = """
listen: 127.0.0.1:{port}
http: 127.0.0.1:{monitor}
server_name: node-{index}
log_file: "{folder}/nats.log"
jetstream {{
  store_dir: "{folder}/js"
  sync_interval: 1s
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
                           folder=folder, route=node.route, routes=routes)
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
            node.process = subprocess.Popen(
                [nats_server_binary(), "-c", str(conf)], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            for node in self.nodes:
                wait_for_port(node.port, timeout=timeout)
            self._wait_current(time.monotonic() + timeout)
        except TimeoutError:
            self.stop()
            raise
        return self

    def _wait_current(self, deadline: float) -> None:
        """Every node healthy: JetStream on and current with an elected meta leader."""
        pending = list(self.nodes)
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
