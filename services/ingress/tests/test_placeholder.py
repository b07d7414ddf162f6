"""Progress where Slack refuses the assistant status: one placeholder message per run,
edited at each status and replaced by the answer, against the stand-in through the real
slack-sdk client and the real NATS work queue, exactly once under redelivery."""

import json

import pytest
from triage_contracts.messages import NotifyKind, NotifyRequest
from triage_contracts.streams import Buckets
from triage_ingress import placeholder
from triage_sandbox.slack_api import FaultSpec

from .test_notifier import _count, drained, request, results, send

REFUSED = "assistant.threads.setStatus"


@pytest.fixture
async def notifier(start_ingress, slack_api):
    return await start_ingress(role="notifier", slack_api_url=slack_api.api_url)


def status(text: str, turn: int) -> NotifyRequest:
    return request(f"investigate-t{turn}-status", notify_kind=NotifyKind.STATUS, text=text)


def refuse_statuses(slack_api, times: int) -> None:
    # Slack's answer where the assistant status is not available in that conversation.
    slack_api.state.faults.append(FaultSpec(method=REFUSED, error="invalid_thread_ts",
                                            times=times))


def methods(slack_api) -> list[str]:
    return [c["method"] for c in slack_api.state.calls if c["method"] != REFUSED]


async def test_refused_statuses_become_one_placeholder_that_the_answer_replaces(
    notifier, slack_api, wait_until
) -> None:
    refuse_statuses(slack_api, times=2)
    await send(notifier, status("Reading CI runs…", 1))
    await wait_until(lambda: _texts(slack_api, "_Looking into it… Reading CI runs…_"))
    await send(notifier, status("Reading commits…", 2))
    await wait_until(lambda: _texts(slack_api, "_Looking into it… Reading commits…_"))
    await send(notifier, request())
    await wait_until(lambda: _count(notifier, 1))
    [result] = await results(notifier)
    [message] = slack_api.state.messages
    assert result.ok and result.ts == message["ts"]
    assert message["text"] == request().text and len(message["edits"]) == 2
    assert methods(slack_api) == ["chat.postMessage", "chat.update", "chat.update"]


async def test_a_redelivered_answer_edits_the_same_placeholder(notifier, slack_api,
                                                               wait_until) -> None:
    refuse_statuses(slack_api, times=1)
    await send(notifier, status("Reading CI runs…", 1))
    await wait_until(lambda: _texts(slack_api, "_Looking into it… Reading CI runs…_"))
    kv = await notifier.js.key_value(Buckets.IDEMPOTENCY.name)
    # The answer took the placeholder, then its notifier died before recording the post.
    await kv.create("notify.T0TEST.run-abc.reply-1", b"pending")
    record = json.loads((await kv.get(placeholder.key(request()))).value)
    await kv.put(placeholder.key(request()),
                 json.dumps({**record, "used_by": "reply-1"}).encode())
    await send(notifier, request())
    await wait_until(lambda: _count(notifier, 1))
    assert len(slack_api.state.messages) == 1
    assert slack_api.state.messages[0]["text"] == request().text


async def test_a_second_message_and_late_statuses_leave_the_answer_alone(
    notifier, slack_api, wait_until
) -> None:
    refuse_statuses(slack_api, times=2)
    await send(notifier, status("Reading CI runs…", 1))
    await wait_until(lambda: _texts(slack_api, "_Looking into it… Reading CI runs…_"))
    await send(notifier, request())
    await wait_until(lambda: _count(notifier, 1))
    await send(notifier, status("Reading commits…", 2))  # late: after the answer
    await send(notifier, request("reply-2", text="and a follow-up"))
    await wait_until(lambda: _count(notifier, 2))
    await wait_until(lambda: drained(notifier))
    assert [m["text"] for m in slack_api.state.messages] == [request().text, "and a follow-up"]


async def test_a_placeholder_slack_kept_refusing_is_posted_by_the_next_status(
    notifier, slack_api, wait_until
) -> None:
    """Slack's limit refuses the first placeholder past the client's retries: the claim is
    given back, so the run's next status posts it rather than none ever showing."""
    refuse_statuses(slack_api, times=2)
    slack_api.state.faults.append(FaultSpec(method="chat.postMessage", times=3))  # 429 x3
    await send(notifier, status("Reading CI runs…", 1))
    await wait_until(lambda: _posts_refused(slack_api, 3))
    await wait_until(lambda: drained(notifier))
    await send(notifier, status("Reading commits…", 2))
    await wait_until(lambda: _texts(slack_api, "_Looking into it… Reading commits…_"))
    assert len(slack_api.state.messages) == 1


async def test_an_abandoned_placeholder_claim_is_taken_over(notifier, slack_api,
                                                            wait_until) -> None:
    """A notifier that died between claiming the placeholder and recording its post left a
    claim: once older than CLAIM_S, the next status takes it over and posts."""
    refuse_statuses(slack_api, times=1)
    kv = await notifier.js.key_value(Buckets.IDEMPOTENCY.name)
    stale = placeholder.time.time() - placeholder.CLAIM_S - 1
    await kv.create(placeholder.key(request()), json.dumps({"claimed_at": stale}).encode())
    await send(notifier, status("Reading CI runs…", 1))
    await wait_until(lambda: _texts(slack_api, "_Looking into it… Reading CI runs…_"))
    record = json.loads((await kv.get(placeholder.key(request()))).value)
    assert record["ts"] == slack_api.state.messages[0]["ts"]


async def _posts_refused(slack_api, n: int) -> bool:
    return sum(c["method"] == "chat.postMessage" and c.get("result") == "ratelimited"
               for c in slack_api.state.calls) >= n


async def test_where_the_status_shows_there_is_no_placeholder(notifier, slack_api,
                                                              wait_until) -> None:
    await send(notifier, status("Reading CI runs…", 1))
    await wait_until(lambda: _status_shown(slack_api))
    await send(notifier, request())
    await wait_until(lambda: _count(notifier, 1))
    assert methods(slack_api) == ["chat.postMessage"]


async def _texts(slack_api, text: str) -> bool:
    return any(m["text"] == text for m in slack_api.state.messages)


async def _status_shown(slack_api) -> bool:
    return any(c["method"] == REFUSED and c.get("result") == "ok"
               for c in slack_api.state.calls)
