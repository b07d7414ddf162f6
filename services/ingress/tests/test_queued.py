""""Queued behind N questions": signed mentions in through the real edge while nothing
drains the orchestrator's request consumer on the real nats-server, the notice out through
the real notifier to the Slack stand-in (assistant status, or the run's placeholder), and
the run's first progress status replacing it."""

import pytest
from triage_contracts import subjects
from triage_contracts.bus import publish
from triage_contracts.ids import new_id, stable_id
from triage_contracts.messages import DeadLetter, NotifyKind
from triage_contracts.streams import Consumers, provision_consumer
from triage_ingress import queued

from .test_events import body, callback, mention
from .test_notifier import request
from .test_placeholder import refuse_statuses

TEAM = "T0TEST"


@pytest.fixture
async def edge(start_ingress, slack_api):
    app = await start_ingress(role="all", slack_api_url=slack_api.api_url,
                              queued_notice_threshold=3)
    # The orchestrator's consumer exists (it would have made it) but nobody drains it.
    await provision_consumer(app.js, Consumers.ORCHESTRATOR_EVENTS)
    return app


def holds(check):
    """`check` as the awaitable condition `wait_until` polls."""
    async def poll() -> bool:
        return bool(check())
    return poll


def thread(i: int) -> str:
    return f"1732540000.{i:06d}"


async def ask(app, count: int) -> None:
    for i in range(count):
        event = mention(ts=thread(i), event_ts=thread(i))
        resp = await app.post("/slack/events", body(callback(event, event_id=f"EvQ{i}")))
        assert resp.status_code == 200, resp.text


def statuses(slack_api) -> dict[str, list[str]]:
    """Every status set, by thread, in order."""
    seen: dict[str, list[str]] = {}
    for call in slack_api.state.calls:
        if call["method"] == "assistant.threads.setStatus":
            seen.setdefault(str(call["args"]["thread_ts"]), []).append(call["args"]["status"])
    return seen


def run_of(i: int) -> str:
    return stable_id("run-", TEAM, f"EvQ{i}")


async def progress(app, i: int) -> None:
    """The run's first progress status, as the orchestrator sends it when the run starts."""
    status = request("investigate-t1-status", notify_kind=NotifyKind.STATUS, run_id=run_of(i),
                     thread_ts=thread(i), text="Reading CI runs…")
    await publish(app.admin, status, subjects.work("notify", TEAM, "status"), msg_id=new_id())


async def test_askers_behind_the_threshold_are_told_how_many_wait_ahead(
    edge, slack_api, wait_until
) -> None:
    await ask(edge, 6)
    await wait_until(holds(lambda: len(statuses(slack_api)) == 3))
    assert statuses(slack_api) == {thread(i): [queued.text(i)] for i in (3, 4, 5)}
    assert queued.text(3) == ("Queued behind 3 questions — I'll answer here as soon as I "
                              "get to it")
    await progress(edge, 3)
    await wait_until(holds(lambda: statuses(slack_api)[thread(3)][-1] == "Reading CI runs…"))
    assert slack_api.state.statuses[("C_TRIAGE", thread(3))] == "Reading CI runs…"
    assert not slack_api.posts()  # a status, never a message of its own


async def test_without_the_assistant_status_the_placeholder_says_it_then_progress(
    edge, slack_api, wait_until
) -> None:
    refuse_statuses(slack_api, times=1)
    await ask(edge, 4)
    await wait_until(holds(lambda: len(slack_api.state.messages) == 1))
    [placeholder] = slack_api.state.messages
    assert placeholder["thread_ts"] == thread(3)
    assert placeholder["text"] == f"_{queued.text(3)}_"
    refuse_statuses(slack_api, times=1)
    await progress(edge, 3)
    await wait_until(holds(lambda: slack_api.state.messages[0]["edits"]))
    assert slack_api.state.messages[0]["text"] == "_Looking into it… Reading CI runs…_"


async def test_below_the_threshold_nobody_is_told(start_ingress, slack_api, wait_until) -> None:
    app = await start_ingress(role="all", slack_api_url=slack_api.api_url,
                              queued_notice_threshold=0)
    await provision_consumer(app.js, Consumers.ORCHESTRATOR_EVENTS)
    await ask(app, 5)
    await progress(app, 4)  # the notifier is running: this one shows
    await wait_until(holds(lambda: statuses(slack_api)))
    assert statuses(slack_api) == {thread(4): ["Reading CI runs…"]}


async def test_a_message_on_the_status_subject_is_never_posted(edge, slack_api,
                                                               wait_until) -> None:
    """The edge may publish statuses only: a reply sent there is dead-lettered."""
    await publish(edge.admin, request(), subjects.work("notify", TEAM, "status"),
                  msg_id=new_id())

    async def dead_lettered() -> bool:
        return bool(await edge.stream("DLQ"))

    await wait_until(dead_lettered)
    [letter] = [DeadLetter.model_validate_json(m.data) for m in await edge.stream("DLQ")]
    assert letter.error_code == "policy_denied" and not slack_api.posts()
