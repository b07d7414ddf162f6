"""The service as its operators run it: `python -m triage_router` with env settings."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from triage_contracts.testing.natsserver import free_port, wait_for_port

# Generous bounds: a fresh interpreter importing the SDKs took over 20 s to listen (and to
# fail) on a loaded 2-core machine.
START_S = 120


def _run(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "triage_router"], env={**os.environ, **env}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )


def _stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=15)
    return out


def test_starts_from_env_and_lists_routes(nats_url: str) -> None:
    port = free_port()
    proc = _run({"NATS_URL": nats_url, "PORT": str(port), "OPENAI_API_KEY": ""})
    try:
        wait_for_port(port, timeout=START_S)
        deadline = time.monotonic() + START_S
        while (ready := httpx.get(f"http://127.0.0.1:{port}/readyz")).status_code != 200:
            assert time.monotonic() < deadline, ready.text
            time.sleep(0.1)
        routes = httpx.get(f"http://127.0.0.1:{port}/routes").json()["routes"]
    finally:
        _stop(proc)
    assert sorted(routes) == ["agent", "classify", "judge"]
    assert [t["usable"] for t in routes["agent"]] == [False, True]


def test_bad_routes_file_stops_the_service_with_the_reason(
    nats_url: str, tmp_path: Path
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text("routes:\n  agent:\n    - {provider: offline, model: m, temprature: 1}\n")
    proc = _run({"NATS_URL": nats_url, "PORT": str(free_port()), "ROUTES_FILE": str(routes)})
    try:
        proc.wait(timeout=START_S)
    finally:
        out = _stop(proc)
    assert proc.returncode != 0
    assert "agent.0.temprature: Extra inputs are not permitted" in out
