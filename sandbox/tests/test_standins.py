"""`python -m triage_sandbox.standins NAME` serves each stand-in as its own process; the
world comes from `--world` or SANDBOX_WORLD (a path or a packaged name), and a bad world
file stops it at once with the reason."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from triage_contracts.testing.natsserver import free_port, wait_for_port


@contextmanager
def standin(*args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "triage_sandbox.standins", *args, "--port", str(port)],
        env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        wait_for_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def test_the_oncall_world_from_the_environment() -> None:
    with standin("github", env={"SANDBOX_WORLD": "oncall"}) as url:
        pull = httpx.get(f"{url}/repos/demo-org/checkout-api/pulls/40").json()
        assert pull["title"] == "Switch payment client to async retries" and pull["merged"]


def test_alertmanager_and_the_default_world() -> None:
    with standin("alertmanager") as url:
        names = {a["labels"]["alertname"] for a in httpx.get(f"{url}/api/v2/alerts").json()}
        assert "HighErrorRate" in names


def test_openai_requires_its_token() -> None:
    with standin("openai", "--token", "sk-sandbox-1234567890") as url:
        assert httpx.get(f"{url}/v1/models").status_code == 401
        ok = httpx.get(f"{url}/v1/models",
                       headers={"Authorization": "Bearer sk-sandbox-1234567890"})
        assert ok.status_code == 200 and ok.json()["object"] == "list"


def test_a_bad_world_file_stops_the_stand_in(tmp_path: Path) -> None:
    world = tmp_path / "world.yaml"
    world.write_text("repos: {api: {id: 1, colour: red}}\n")
    done = subprocess.run(
        [sys.executable, "-m", "triage_sandbox.standins", "prometheus", "--port",
         str(free_port()), "--world", str(world)], capture_output=True, text=True,
        timeout=60)
    assert done.returncode != 0
    assert "SANDBOX prometheus" in done.stderr and "colour" in done.stderr


def test_an_unknown_stand_in_is_refused() -> None:
    done = subprocess.run([sys.executable, "-m", "triage_sandbox.standins", "nope", "--port",
                           "1"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "invalid choice" in done.stderr
