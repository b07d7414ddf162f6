"""The chaos page's control endpoints against a real small stack (embedded nats-server, the
audit service, the GitHub stand-in as real processes), served by real uvicorn on loopback:
the token is required, an unknown process is a 404, kill really ends the process and
restart brings it back ready; the state lists the provisioned streams' consumers; the
embedded NATS server killed and restarted keeps its streams and the services reconnect."""

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from triage_contracts.testing.natsserver import free_port
from triage_sandbox.chaos.app import TOKEN_HEADER, chaos_app
from triage_sandbox.chaos.serve import ChaosServer
from triage_sandbox.plan import make_plan
from triage_sandbox.stack import Stack

KEEP = ("github", "audit")


@pytest.fixture
def small_stack(tmp_path: Path) -> Iterator[Stack]:
    plan = make_plan({}, tmp_path / "data", fixed_ports=False)
    plan.processes = [p for p in plan.processes if p.name in KEEP]
    stack = Stack(plan, out=io.StringIO()).start(timeout=90)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def chaos(small_stack: Stack) -> Iterator[ChaosServer]:
    server = ChaosServer(small_stack, free_port()).start()
    try:
        yield server
    finally:
        server.stop()


def state(chaos: ChaosServer) -> dict[str, Any]:
    return httpx.get(f"{chaos.url}/chaos/state", timeout=10).json()  # type: ignore[no-any-return]


def process(chaos: ChaosServer, name: str) -> dict[str, Any]:
    return next(p for p in state(chaos)["processes"] if p["name"] == name)


def post(chaos: ChaosServer, path: str, token: str | None) -> httpx.Response:
    headers = {TOKEN_HEADER: token} if token is not None else {}
    return httpx.post(f"{chaos.url}{path}", headers=headers, timeout=30)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(predicate: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def test_the_page_carries_the_token_and_the_state_shows_the_stack(chaos: ChaosServer) -> None:
    page = httpx.get(chaos.url + "/", timeout=10)
    assert page.status_code == 200 and chaos.token in page.text
    seen = state(chaos)
    github = next(p for p in seen["processes"] if p["name"] == "github")
    assert github["state"] == "running" and github["ready"] and alive(github["pid"])
    consumers = {c["name"] for s in seen["streams"] for c in s["consumers"]}
    streams = {s["name"] for s in seen["streams"]}
    assert {"WORK", "EVENTS", "AUDIT"} <= streams and "audit" in consumers
    assert seen["runs"] == [] and seen["runs_error"] == ""


def test_control_requires_this_starts_token(chaos: ChaosServer) -> None:
    for token in (None, "", "not-the-token", chaos.token + "x"):
        assert post(chaos, "/chaos/kill/github", token).status_code == 403
    assert process(chaos, "github")["state"] == "running"


def test_unknown_process_is_404(chaos: ChaosServer) -> None:
    for action in ("kill", "restart"):
        assert post(chaos, f"/chaos/{action}/kafka", chaos.token).status_code == 404


def test_kill_then_restart(chaos: ChaosServer) -> None:
    pid = process(chaos, "github")["pid"]
    assert post(chaos, "/chaos/kill/github", chaos.token).status_code == 200
    assert not alive(pid) and process(chaos, "github")["state"] == "killed"
    # Killing what is not running is refused, and says so.
    assert post(chaos, "/chaos/kill/github", chaos.token).status_code == 409

    assert post(chaos, "/chaos/restart/github", chaos.token).status_code == 200
    wait_for(lambda: process(chaos, "github")["ready"])
    restarted = process(chaos, "github")
    assert restarted["state"] == "running" and restarted["pid"] != pid


def test_runs_waits_out_an_audit_outage(chaos: ChaosServer) -> None:
    assert post(chaos, "/chaos/kill/audit", chaos.token).status_code == 200
    assert "audit API unreachable" in state(chaos)["runs_error"]
    assert post(chaos, "/chaos/restart/audit", chaos.token).status_code == 200
    wait_for(lambda: state(chaos)["runs_error"] == "", timeout=90)


def test_loopback_only(chaos: ChaosServer, small_stack: Stack) -> None:
    # A DNS-rebinding page reaches loopback under its own host name: refused.
    rebound = httpx.get(chaos.url + "/", headers={"Host": f"evil.example:{chaos.port}"})
    assert rebound.status_code == 403 and chaos.token not in rebound.text
    # A client that is not 127.0.0.1 (Starlette's test client calls itself "testclient").
    app = chaos_app(small_stack, chaos.port, chaos.token)
    with TestClient(app, base_url=f"http://127.0.0.1:{chaos.port}") as client:
        assert client.post("/chaos/kill/github", headers={TOKEN_HEADER: chaos.token}
                           ).status_code == 403
    assert process(chaos, "github")["state"] == "running"


def test_nats_killed_and_restarted_the_services_reconnect(chaos: ChaosServer) -> None:
    nats = process(chaos, "nats")
    assert nats["state"] == "running" and alive(nats["pid"])
    assert post(chaos, "/chaos/kill/nats", chaos.token).status_code == 200
    down = state(chaos)
    assert not alive(nats["pid"]) and down["streams"] == []
    assert "NATS monitor unreachable" in down["streams_error"]
    assert post(chaos, "/chaos/kill/nats", chaos.token).status_code == 409

    assert post(chaos, "/chaos/restart/nats", chaos.token).status_code == 200
    back = state(chaos)
    assert back["streams_error"] == "" and process(chaos, "nats")["state"] == "running"
    # The stored streams are still there, and the audit service is connected again.
    assert "audit" in {c["name"] for s in back["streams"] for c in s["consumers"]}
    wait_for(lambda: process(chaos, "audit")["ready"], timeout=90)
