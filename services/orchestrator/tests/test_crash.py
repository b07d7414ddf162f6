"""Crash safety with real processes: SIGKILL the orchestrator mid-run and restart it; a
run saved but never sent is resumed at start-up; a bad workflow file stops the start."""

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from triage_contracts.broker import build_broker
from triage_contracts.bus import jetstream
from triage_contracts.messages import AuditEvent
from triage_contracts.streams import provision
from triage_contracts.testing.grant_keys import public_keys_env
from triage_contracts.testing.natsserver import free_port
from triage_orchestrator import engine
from triage_orchestrator.app import build_app
from triage_orchestrator.store import RunStore

from .conftest import Bus, make_settings
from .factories import APPROVAL_KEY, REPO, config, request, skills, workflow
from .workers import Workers, wait_until


class Process:
    """`python -m triage_orchestrator` in its own process group (stopped by group id)."""

    def __init__(self, nats_url: str, **env: str) -> None:
        self.port = free_port()
        # A file, not a pipe: a full pipe nobody reads would block the child's logging.
        self.log = tempfile.NamedTemporaryFile(prefix="orchestrator-", suffix=".log")
        self.env = {**os.environ, "NATS_URL": nats_url, "PORT": str(self.port),
                    "HOST": "127.0.0.1", "GITHUB_REPOS": REPO, "LOG_LEVEL": "INFO",
                    **public_keys_env(APPROVAL_KEY), **env}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "Process":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "triage_orchestrator"], env=self.env,
            stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True)
        return self

    async def ready(self, within: float = 30.0) -> None:
        async def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"orchestrator exited:\n{self.output()}")
            try:
                async with httpx.AsyncClient() as http:
                    resp = await http.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1)
                    return resp.status_code == 200
            except httpx.HTTPError:
                return False

        await wait_until(up, within=within, interval=0.1)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=15)


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        process.kill(signal.SIGTERM)


async def test_sigkill_mid_run_then_restart_completes_with_one_reply(
    nats_url: str, workers: Workers, bus: Bus, processes: list[Process]
) -> None:
    workers.hold_tools = True  # the run will wait for its tool results
    first = Process(nats_url).start()
    processes.append(first)
    await first.ready()
    req = request("what changed in checkout-api recently?", event_id="EvCrash")
    await bus.request(req)
    await wait_until(lambda: len(workers.held) == 2)

    first.kill(signal.SIGKILL)  # no chance to clean up
    await workers.answer_held()  # the results wait in the stream meanwhile
    second = Process(nats_url).start()
    processes.append(second)
    await second.ready()

    async def done() -> bool:
        async with httpx.AsyncClient() as http:
            url = f"http://127.0.0.1:{second.port}/runs/T1/{req.run_id}"
            return (await http.get(url)).json()["status"] == "done"

    await wait_until(done, within=30)
    await asyncio.sleep(1.0)
    assert len(workers.replies()) == 1
    assert len(workers.tool_calls) == 2  # re-sent at start-up, dropped as duplicates
    # Each model turn was asked once: classify, the turn that asked for tools, the answer.
    assert sorted(c.step_id for c in workers.model_calls) == [
        "classify", "investigate-t1", "investigate-t2"]


async def test_commands_saved_but_never_sent_are_sent_at_start_up(
    nats_url: str, workers: Workers
) -> None:
    # What a crash right after the CAS save leaves behind: state with pending commands.
    broker = build_broker(nats_url, "test-crash")
    await broker.connect()
    await provision(jetstream(broker))
    store = RunStore(jetstream(broker))
    await store.open()
    state, _ = engine.start(request(event_id="EvSaved"), workflow(), skills(), config())
    await store.create(state)
    await broker.stop()
    assert workers.tool_calls == []

    app: FastAPI = build_app(make_settings(nats_url))
    async with app.router.lifespan_context(app):
        async def done() -> bool:
            final = await app.state.orchestrator.get_run("T1", state.run_id)
            return final.status.value == "done"

        await wait_until(done, within=20)
        assert len(workers.tool_calls) == 2 and len(workers.replies()) == 1


async def test_a_kill_between_save_and_publish_loses_no_audit_event(
    nats_url: str, bus: Bus, processes: list[Process]
) -> None:
    """Audit events are published before the state is saved (an outbox): killed after the
    save, before its commands went out, the run's audit trail is already complete; the
    restart sends the commands, and no audit event is stored twice."""
    first = Process(nats_url).start()
    processes.append(first)
    await first.ready()
    js = jetstream(bus.broker)
    await js.delete_stream("WORK")  # every command publish now fails, after the save
    req = request("what changed in checkout-api recently?", event_id="EvOutbox")
    await bus.request(req)
    store = RunStore(js)
    await store.open()
    saved = await wait_until(lambda: store.load("T1", req.run_id), within=20)
    assert saved[0].pending  # saved with the commands it waits on, none sent
    first.kill(signal.SIGKILL)

    before = [e.action for e in await audit_of(bus, req.run_id)]
    assert before == ["run started", "step classify started"]  # the whole transition's
    await provision(js)  # WORK again, as the provisioner would (services may not)
    second = Process(nats_url).start()  # resumes the run
    processes.append(second)
    await second.ready()

    async def resent() -> bool:
        return (await js.stream_info("WORK")).state.messages >= len(saved[0].pending)
    await wait_until(resent, within=20)
    after = [e.action for e in await audit_of(bus, req.run_id)]
    assert all(after.count(action) == 1 for action in before)


async def audit_of(bus: Bus, run_id: str) -> list[AuditEvent]:
    sub = await jetstream(bus.broker).pull_subscribe("triage.audit.>", stream="AUDIT")
    found: list[AuditEvent] = []
    with suppress(TimeoutError):
        while True:
            found += [AuditEvent.model_validate_json(m.data)
                      for m in await sub.fetch(100, timeout=1)]
    await sub.unsubscribe()
    return [e for e in found if e.run_id == run_id]


def test_a_workflow_with_an_unknown_step_kind_stops_the_start(
    nats_url: str, tmp_path: Path
) -> None:
    bad = tmp_path / "workflow.yaml"
    bad.write_text("version: 2\nname: t\nsteps:\n  - {id: classify, kind: classify, route: c}\n"
                   "  - {id: magic, kind: teleport}\n  - {id: reply, kind: reply}\n")
    process = Process(nats_url, WORKFLOW_FILE=str(bad)).start()
    assert process.proc is not None
    try:
        process.proc.wait(timeout=30)
    finally:
        process.kill()
    assert process.proc.returncode != 0
    text = process.output()
    assert f"invalid workflow file {bad}" in text
    assert "steps.1.kind" in text and "(got 'teleport')" in text
