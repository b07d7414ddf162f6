"""The assistant thread's dressing on the edge: suggested prompts when a thread opens and a
title when a question is asked in a DM with the app, made through the real slack-sdk
client against the stand-in; never a run, never a failed request."""

from typing import Any

import pytest
from triage_contracts.messages import RequestKind, TriageRequest
from triage_ingress.assistant import PROMPTS, TITLE_LIMIT, asked, title_of
from triage_sandbox.slack_api import FaultSpec

from .test_events import body, callback

DM, THREAD = "D_ASKER", "1732540000.000100"


def thread_started(kind: str = "assistant_thread_started") -> dict[str, Any]:
    return {"type": kind, "event_ts": "1732540001.000100", "assistant_thread": {
        "user_id": "U_REQUESTER", "channel_id": DM, "thread_ts": THREAD,
        "context": {"channel_id": "C_TRIAGE", "team_id": "T0TEST"}}}


def dm_question(text: str, event_id: str = "Ev0001") -> dict[str, Any]:
    return callback({"type": "message", "channel_type": "im", "user": "U_REQUESTER",
                     "text": text, "ts": "1732540002.000100", "thread_ts": THREAD,
                     "channel": DM}, event_id)


@pytest.fixture
async def edge(start_ingress, slack_api):
    return await start_ingress(role="edge", slack_api_url=slack_api.api_url)


def calls(slack_api, method: str) -> list[dict[str, Any]]:
    return [c for c in slack_api.state.calls if c["method"] == method]


def test_the_title_is_one_line_capped_and_escaped() -> None:
    assert title_of("why  is\nCI <!channel> red & failing?") == (
        "why is CI &lt;!channel&gt; red &amp; failing?")
    long = title_of("word " * 40)
    assert long.endswith("…") and len(long) == TITLE_LIMIT


def test_only_a_question_in_a_dm_is_titled() -> None:
    values: dict[str, Any] = {"team_id": "T1", "run_id": "r", "event_id": "e", "user_id": "U",
                              "text": "why is CI red?", "thread_ts": THREAD, "in_thread": True}
    dm = TriageRequest(request_kind=RequestKind.DM, channel_id=DM, **values)
    mention = TriageRequest(request_kind=RequestKind.MENTION, channel_id="C1", **values)
    top_level = dm.model_copy(update={"in_thread": False})
    assert asked(dm) is not None and asked(dm)[1] == "why is CI red?"  # type: ignore[index]
    assert asked(mention) is None and asked(top_level) is None


@pytest.mark.parametrize("kind", ["assistant_thread_started",
                                  "assistant_thread_context_changed"])
async def test_an_opened_thread_gets_the_suggested_prompts_and_no_run(
    edge, slack_api, wait_until, kind
) -> None:
    resp = await edge.post("/slack/events", body(callback(thread_started(kind))))
    assert resp.status_code == 200 and resp.json() == {"ok": True}
    await wait_until(lambda: _has(slack_api, (DM, THREAD), "prompts"))
    assert slack_api.state.assistant_threads[(DM, THREAD)]["prompts"] == list(PROMPTS)
    assert 3 <= len(PROMPTS) <= 4
    assert await edge.stream("EVENTS") == []  # never a run


async def test_a_refused_or_failing_call_still_answers_slack_ok(edge, slack_api,
                                                                wait_until) -> None:
    slack_api.state.faults.append(FaultSpec(method="assistant.threads.setSuggestedPrompts",
                                            error="internal_error", status=500))
    resp = await edge.post("/slack/events", body(callback(thread_started())))
    assert resp.status_code == 200
    await wait_until(lambda: _called(slack_api, "assistant.threads.setSuggestedPrompts"))
    assert (DM, THREAD) not in slack_api.state.assistant_threads


async def test_a_question_in_a_dm_titles_its_thread(edge, slack_api, wait_until) -> None:
    resp = await edge.post("/slack/events", body(dm_question("Why is CI <b>red</b> on main?")))
    assert resp.status_code == 200
    await wait_until(lambda: _has(slack_api, (DM, THREAD), "title"))
    assert slack_api.state.assistant_threads[(DM, THREAD)]["title"] == (
        "Why is CI &lt;b&gt;red&lt;/b&gt; on main?")
    assert len(await edge.stream("EVENTS")) == 1


async def test_a_retried_question_is_titled_once(edge, slack_api) -> None:
    for _ in range(2):
        assert (await edge.post("/slack/events", body(dm_question("why?")))).status_code == 200
    await edge.app.state.edge.assistant.settled()
    assert len(await edge.stream("EVENTS")) == 1
    assert len(calls(slack_api, "assistant.threads.setTitle")) == 1


async def _has(slack_api, thread: tuple[str, str], what: str) -> bool:
    return what in slack_api.state.assistant_threads.get(thread, {})


async def _called(slack_api, method: str) -> bool:
    return any(c["method"] == method and "result" in c for c in slack_api.state.calls)
