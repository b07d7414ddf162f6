"""Pending commands are re-sent only when they were never sent: the sweep must not store
a command again in WORK once JetStream's duplicate window has passed (the tools service
would run the call a second time)."""

import asyncio

from triage_contracts.bus import jetstream
from triage_orchestrator.app import build_app

from .conftest import Bus, make_settings
from .factories import request
from .workers import Workers, wait_until


async def test_the_sweep_does_not_resend_a_command_after_the_duplicate_window(
    nats_url: str, workers: Workers, bus: Bus
) -> None:
    workers.hold_tools = True  # the run waits on its two tool calls
    app = build_app(make_settings(nats_url, sweep_interval_s=0.2))
    async with app.router.lifespan_context(app):
        js = jetstream(bus.broker)  # test-admin: the orchestrator may not change streams
        work = (await js.stream_info("WORK")).config
        work.duplicate_window = 0.5  # the 15 minutes, shrunk: the window passes many times
        await js.update_stream(work)

        await bus.request(request(event_id="EvSweep"))
        await wait_until(lambda: len(workers.held) == 2)
        stored = (await js.stream_info("WORK")).state.last_seq
        # About 20 sweeps and 8 duplicate windows: any re-send would be stored now.
        await asyncio.sleep(4.0)
        assert (await js.stream_info("WORK")).state.last_seq == stored
        assert len(workers.tool_calls) == 2
