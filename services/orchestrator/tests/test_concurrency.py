"""Steps of one run are serial, different runs overlap: results of a run whose lock is
held wait for it (delivered, not acked, the run unchanged), while another run goes on."""

from triage_contracts.bus import jetstream
from triage_orchestrator.runner import Orchestrator

from .conftest import Bus
from .factories import TEAM, request
from .workers import Workers, wait_until


async def test_a_runs_results_wait_for_its_step_while_other_runs_go_on(
    orchestrator: object, workers: Workers, bus: Bus
) -> None:
    orch: Orchestrator = orchestrator.state.orchestrator  # type: ignore[attr-defined]
    js = jetstream(bus.broker)
    workers.hold_tools = True  # each run waits on its two tool calls
    first = request(event_id="EvFirst")
    await bus.request(first)
    await wait_until(lambda: len(workers.held) == 2)

    async with orch.runs.hold((TEAM, first.run_id)):  # a step of the first run in progress
        before = await orch.store.load(TEAM, first.run_id)
        await workers.answer_held()

        async def both_waiting() -> bool:
            info = await js.consumer_info("RESULTS", "orchestrator-results")
            return info.num_ack_pending == 2 and info.num_pending == 0
        await wait_until(both_waiting)
        assert await orch.store.load(TEAM, first.run_id) == before  # nothing applied

        second = request(event_id="EvSecond", channel="C2")  # another run is not held up
        await bus.request(second)
        await wait_until(lambda: {c.run_id for c in workers.held} == {second.run_id})

    await wait_until(lambda: any(r.run_id == first.run_id for r in workers.replies()))
    info = await js.consumer_info("RESULTS", "orchestrator-results")
    assert info.num_redelivered == 0  # both results were applied once, in turn
