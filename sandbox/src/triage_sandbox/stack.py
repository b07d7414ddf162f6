"""Running the plan: NATS, stand-ins and services as child processes with prefixed logs,
readiness checks, and clean shutdown by process group. Tests use it too (chaos tests kill
and restart single services)."""

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import httpx
from triage_contracts.permissions import names
from triage_contracts.testing.natsserver import NatsServer, wait_for_port

from .plan import SERVICES, Plan, Process

# The NATS identity of each service process (the dev stack runs ingress with ROLE=all).
NATS_IDENTITIES = {service: service for service in SERVICES} | {"ingress": "ingress-all"}
COLOURS = ["36", "32", "33", "35", "34", "31", "96", "92", "93", "95"]


class Stack:
    def __init__(self, plan: Plan, out: IO[str] | None = None, colour: bool = False,
                 test_admin: bool = False) -> None:
        self.plan = plan
        # Tests only: the embedded server also admits `test-admin` (see `admin_url`).
        self.test_admin = test_admin
        self.out = out or sys.stdout
        self.colour = colour
        self.nats: NatsServer | None = None
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self.nats_url = plan.nats_url or ""
        # The embedded server's passwords, fresh per start (never the development defaults).
        self.nats_passwords: dict[str, str] = {}

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> "Stack":
        self.plan.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.plan.nats_url:
            # Every service connects as its own NATS identity (docs/security-nats.md).
            self.nats_passwords = {name: secrets.token_urlsafe(18) for name in names()}
            self.nats = NatsServer(store_dir=self.plan.data_dir / "nats",
                                   test_admin=self.test_admin,
                                   passwords=self.nats_passwords).start()
            self.nats_url = self.nats.url
            self._print("nats", f"embedded JetStream on {self.nats_url} "
                                f"(store: {self.plan.data_dir / 'nats'})")
        try:
            for proc in self.plan.processes:
                self.spawn(proc.name)
            for proc in self.plan.processes:
                self.wait_ready(proc.name, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def admin_url(self) -> str:
        """The embedded server's URL with test-admin's credentials (a test stack only)."""
        if self.nats is None:
            raise RuntimeError("no embedded NATS server")
        return self.nats.admin_url

    def spawn(self, name: str) -> None:
        proc = self.plan.process(name)
        inherited = {k: v for k, v in os.environ.items() if k not in proc.withheld}
        env = {**inherited, **proc.env, "NATS_URL": self.nats_url, **self._nats_user(name)}
        child = subprocess.Popen(
            proc.argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped by group, never by name
        )
        self.children[name] = child
        threading.Thread(target=self._pump, args=(name, child), daemon=True).start()

    def _nats_user(self, name: str) -> dict[str, str]:
        proc = self.plan.process(name)
        identity = proc.identity or NATS_IDENTITIES.get(proc.service or name)
        if identity is None or not self.nats_passwords:
            return {}  # a stand-in, or an outside NATS (the services' own settings apply)
        return {"NATS_USER": identity, "NATS_PASSWORD": self.nats_passwords[identity]}

    def wait_ready(self, name: str, timeout: float = 60.0) -> None:
        proc = self.plan.process(name)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            child = self.children[name]
            if child.poll() is not None:
                tail = "\n".join(self.logs.get(name, [])[-20:])
                raise RuntimeError(f"{name} exited with {child.returncode}:\n{tail}")
            if self._is_ready(proc):
                return
            time.sleep(0.1)
        raise TimeoutError(f"{name} not ready after {timeout}s")

    def is_ready(self, name: str) -> bool:
        return self._is_ready(self.plan.process(name))

    def _is_ready(self, proc: Process) -> bool:
        if not proc.ready_path:
            try:
                wait_for_port(proc.port, timeout=0.1)
                return True
            except TimeoutError:
                return False
        try:
            return httpx.get(proc.url + proc.ready_path, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        child = self.children.pop(name)
        os.killpg(child.pid, sig)
        child.wait(timeout=15)

    def restart(self, name: str, timeout: float = 60.0) -> None:
        if name in self.children:
            self.kill(name, signal.SIGTERM)
        self.spawn(name)
        self.wait_ready(name, timeout)

    def kill_nats(self) -> None:
        """SIGKILL the embedded server: no flush, as a crashed node (chaos mode)."""
        server = self._embedded()
        if server.process is not None and server.process.poll() is None:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=15)
        server.process = None

    def nats_running(self) -> bool:
        server = self._embedded()
        return server.process is not None and server.process.poll() is None

    def restart_nats(self) -> None:
        """The embedded server again, on its port and store: the services reconnect."""
        server = self._embedded()
        server.stop()  # a no-op once killed
        server.start()  # same port, store and passwords; provisioning is idempotent

    def _embedded(self) -> NatsServer:
        if self.nats is None:
            raise RuntimeError("no embedded NATS server")
        return self.nats

    def stop(self) -> None:
        for name in reversed(list(self.children)):
            self._terminate(self.children[name])
        self.children.clear()
        if self.nats is not None:
            self.nats.stop()
            self.nats = None

    @staticmethod
    def _terminate(child: subprocess.Popen[bytes]) -> None:
        if child.poll() is not None:
            return
        try:
            os.killpg(child.pid, signal.SIGTERM)
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        except ProcessLookupError:
            pass

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- logs --------------------------------------------------------------------------

    def _pump(self, name: str, child: subprocess.Popen[bytes]) -> None:
        assert child.stdout is not None
        for raw in child.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            self.logs.setdefault(name, []).append(line)
            self._print(name, line)

    def _print(self, name: str, line: str) -> None:
        prefix = f"{name:>12} |"
        if self.colour:
            code = COLOURS[sum(map(ord, name)) % len(COLOURS)]
            prefix = f"\033[{code}m{prefix}\033[0m"
        with self._lock:
            self.out.write(f"{prefix} {line}\n")
            self.out.flush()

    def wait_for_log(self, name: str, predicate: Callable[[str], bool], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.logs.get(name, [])):
                if predicate(line):
                    return line
            time.sleep(0.05)
        raise TimeoutError(f"no matching log line from {name} in {timeout}s")


def data_dir_default() -> Path:
    return Path(os.environ.get("TRIAGE_DATA_DIR", ".triage")).resolve()
