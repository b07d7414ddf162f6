"""Back-pressure in the orchestrator on a real nats-server. Per-team fair share: team A
floods 50 questions, team B asks one, and B's run starts while A still has only its share
going (the rest of A's questions are put back and all answered later, each exactly once).
And a question that waited says its run has started."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
from fastapi import FastAPI
from triage_contracts.bus import jetstream
from triage_contracts.ids import stable_id, utcnow
from triage_contracts.messages import RequestKind, TriageRequest
from triage_contracts.streams import Consumers, provision_consumer
from triage_orchestrator.app import build_app
from triage_orchestrator.fair_share import FairShare, OverShare

from .conftest import Bus, make_settings
from .workers import Workers, wait_until

CAP = 4


def ask(team: str, n: int) -> TriageRequest:
    event = f"Ev{team}{n}"
    return TriageRequest(
        team_id=team, run_id=stable_id("run-", team, event), request_kind=RequestKind.MENTION,
        event_id=event, channel_id="C1", user_id="U_REQ", text="why is checkout-api failing?",
        thread_ts=f"1700000000.{n:06d}")


@pytest.fixture
async def fair(nats_url: str, workers: Workers) -> AsyncIterator[FastAPI]:
    app = build_app(make_settings(nats_url, team_max_active_runs=CAP, fair_share_retry_s=0.5))
    async with app.router.lifespan_context(app):
        yield app


def started(workers: Workers, team: str) -> set[str]:
    """Runs of `team` that began (their first model call, the classification, went out)."""
    return {c.run_id for c in workers.model_calls if c.team_id == team and
            c.step_id == "classify"}


async def finished(app: FastAPI, req: TriageRequest) -> bool:
    state = await app.state.orchestrator.get_run(req.team_id, req.run_id)
    return state is not None and state.terminal


async def test_a_flooding_team_does_not_starve_another(fair: FastAPI, workers: Workers,
                                                       bus: Bus) -> None:
    workers.hold_tools = True  # A's first runs stay going: the rest of A must wait
    flood = [ask("TA", n) for n in range(50)]
    for req in flood:
        await bus.request(req)
    await wait_until(lambda: len(started(workers, "TA")) == CAP)
    lone = ask("TB", 0)
    await bus.request(lone)
    await wait_until(lambda: started(workers, "TB"), within=30.0)
    assert len(started(workers, "TA")) == CAP  # B began while A's backlog was waiting

    workers.hold_tools = False
    await workers.answer_held()

    async def all_done() -> bool:
        await workers.answer_held()
        done = await asyncio.gather(*(finished(fair, r) for r in [*flood, lone]))
        return all(done)

    await wait_until(all_done, within=240.0, interval=0.5)
    replies = [n.run_id for n in workers.replies()]
    assert sorted(replies) == sorted(r.run_id for r in [*flood, lone])  # each exactly once
    assert fair.state.orchestrator.fair.active.get("TA", set()) == set()


async def test_without_a_cap_every_run_of_the_flood_starts(nats_url: str, workers: Workers,
                                                          bus: Bus) -> None:
    """The control: with the cap off, A's whole flood starts before anything else can."""
    app = build_app(make_settings(nats_url, team_max_active_runs=0))
    async with app.router.lifespan_context(app):
        workers.hold_tools = True
        for n in range(12):
            await bus.request(ask("TA", n))
        await wait_until(lambda: len(started(workers, "TA")) == 12, within=30.0)
        assert app.state.orchestrator.fair is None


async def test_runs_ended_on_another_replica_free_the_share_and_redeliveries_pass() -> None:
    """The counting alone: a run that ended elsewhere is noticed on a re-read, and a
    request whose run exists already (a redelivery) is never deferred."""
    share = FairShare(cap=1, retry_s=0.5, recheck_s=0.0)
    over: set[str] = set()

    async def ended(team: str, run_id: str) -> bool:
        return run_id in over

    async def absent() -> bool:
        return False

    async def present() -> bool:
        return True

    await share.admit("TA", "r1", absent, ended)
    with pytest.raises(OverShare) as deferred:
        await share.admit("TA", "r2", absent, ended)
    assert deferred.value.delay == 0.5
    await share.admit("TA", "r1", absent, ended)  # its own redelivery: still counted once
    await share.admit("TA", "r9", present, ended)  # started already: goes on, uncounted
    await share.admit("TB", "b1", absent, ended)  # another team has its own share
    over.add("r1")  # ended on another replica
    await share.admit("TA", "r2", absent, ended)
    assert share.active == {"TA": {"r2"}, "TB": {"b1"}}


async def test_a_request_that_waited_says_its_run_has_started(orchestrator: FastAPI,
                                                              workers: Workers,
                                                              bus: Bus) -> None:
    """The edge may have said "Queued behind N questions": once the run starts, the thread
    says so at once rather than at the first tool call. A request that did not wait does
    not add a status of its own."""
    waited = ask("TA", 1).model_copy(update={"created_at": utcnow() - timedelta(seconds=10)})
    fresh = ask("TA", 2)
    await bus.request(waited)
    await bus.request(fresh)
    await wait_until(lambda: len(started(workers, "TA")) == 2)

    def first_statuses() -> dict[str, str]:
        return {s.run_id: s.text for s in workers.statuses if s.step_id == "start-status"}

    await wait_until(first_statuses)
    await wait_until(lambda: len(workers.replies()) == 2)
    assert first_statuses() == {waited.run_id: "Reading your question…"}


async def test_a_request_consumer_made_before_fair_share_is_brought_up_to_date(
    nats_url: str, workers: Workers, bus: Bus
) -> None:
    """An upgrade: the durable exists with the old definition (5 deliveries, BackOff), and
    binding to it would keep that; the orchestrator updates it before consuming."""
    old = replace(Consumers.ORCHESTRATOR_EVENTS, max_deliver=5, backoff=[1.0, 5.0, 15.0, 60.0],
                  give_up_s=None)
    js = jetstream(bus.broker)
    await provision_consumer(js, old)
    assert (await js.consumer_info("EVENTS", old.durable)).config.max_deliver == 5
    app = build_app(make_settings(nats_url))
    async with app.router.lifespan_context(app):
        config = (await js.consumer_info("EVENTS", old.durable)).config
        assert config.max_deliver == -1 and not config.backoff
