"""Run state in the real KV bucket: create-once, compare-and-set, concurrent replicas,
and the timeout sweep."""

import asyncio
from pathlib import Path

import pytest
from triage_contracts.broker import build_broker
from triage_contracts.bus import jetstream
from triage_contracts.streams import provision
from triage_orchestrator import engine
from triage_orchestrator.app import build_app
from triage_orchestrator.settings import PACKAGE_DIR
from triage_orchestrator.store import Conflict, RunStore

from .conftest import Bus, make_settings
from .factories import config, request, skills, workflow
from .workers import Workers, wait_until


async def test_create_once_and_compare_and_set(nats_url: str) -> None:
    broker = build_broker(nats_url, "test-store")
    await broker.connect()
    await provision(jetstream(broker))
    store = RunStore(jetstream(broker))
    await store.open()
    state, _ = engine.start(request(), workflow(), skills(), config())
    stored, revision, created = await store.create(state)
    assert created
    other, _ = engine.start(request(text="something else"), workflow(), skills(), config())
    existing, same_revision, created = await store.create(other)
    assert not created and same_revision == revision
    assert existing.request.text == state.request.text  # the first run is kept

    newer = await store.save(state.model_copy(update={"draft": "v2"}), revision)
    with pytest.raises(Conflict):
        await store.save(state.model_copy(update={"draft": "stale"}), revision)
    loaded, loaded_revision = await store.load(state.team_id, state.run_id)
    assert loaded.draft == "v2" and loaded_revision == newer
    assert await store.keys("T1") == [state.key] and await store.keys("T2") == []
    await broker.stop()


async def test_two_replicas_share_a_run_and_reply_once(
    nats_url: str, workers: Workers, bus: Bus
) -> None:
    apps = [build_app(make_settings(nats_url)) for _ in range(2)]
    async with apps[0].router.lifespan_context(apps[0]), \
            apps[1].router.lifespan_context(apps[1]):
        runs = [request(event_id=f"EvReplica{i}") for i in range(4)]
        for req in runs:
            await bus.request(req)
        await wait_until(lambda: len(workers.replies()) >= 4, within=30)
        await asyncio.sleep(1.0)
        assert sorted(r.run_id for r in workers.replies()) == sorted(r.run_id for r in runs)
        # Commands of these runs, each counted once however often JetStream delivered it to
        # the stand-in workers (a redelivery has the same id; a second command would not).
        ours = {r.run_id for r in runs}
        models = {c.message_id for c in workers.model_calls if c.run_id in ours}
        tools = {c.message_id for c in workers.tool_calls if c.run_id in ours}
        assert len(models) == 12 and len(tools) == 8


async def test_the_sweep_times_out_a_stuck_run(
    nats_url: str, workers: Workers, bus: Bus, tmp_path: Path
) -> None:
    quick = tmp_path / "workflow.yaml"
    quick.write_text((PACKAGE_DIR / "workflow.yaml").read_text().replace(
        "run_timeout_s: 1800", "run_timeout_s: 1"))
    workers.hold_tools = True  # nobody answers: the run must give up by itself
    app = build_app(make_settings(nats_url, workflow_file=quick, sweep_interval_s=0.3))
    async with app.router.lifespan_context(app):
        req = request(event_id="EvStuck")
        await bus.request(req)
        (reply,) = await wait_until(workers.replies, within=15)
        assert "timed out after 1s waiting for investigate-t1-c0, investigate-t1-c1" in \
            reply.text
        state = await wait_until(lambda: _done(app, req.run_id))
        assert state.error.startswith("timed out")


async def _done(app, run_id):  # type: ignore[no-untyped-def]
    state = await app.state.orchestrator.get_run("T1", run_id)
    return state if state is not None and state.terminal else None
