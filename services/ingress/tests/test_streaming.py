"""The answer streamed into an assistant thread (a DM with the app), against the stand-in
through the real slack-sdk client and the real NATS work queue: one message that grows,
finished with the closing blocks and metadata; a plain post where Slack will not stream;
and still one answer after a crash midway."""

import pytest
from triage_contracts.messages import NotifyRequest
from triage_ingress.streaming import closing_blocks, markdown, pieces
from triage_sandbox.slack_api import FaultSpec

from .test_notifier import _count, drained, request, results, send

ANSWER = "Commit 1a2b broke CI on main: the checkout test fails since then. " * 12
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": ANSWER}},
          {"type": "actions", "block_id": "feedback", "elements": [
              {"type": "button", "action_id": "feedback_good", "value": "run-abc",
               "text": {"type": "plain_text", "text": "Helpful"}}]},
          {"type": "context", "elements": [{"type": "mrkdwn", "text": "run run-abc"}]}]


@pytest.fixture
async def notifier(start_ingress, slack_api):
    return await start_ingress(role="notifier", slack_api_url=slack_api.api_url)


def dm_answer(**fields: object) -> NotifyRequest:
    return request(channel_id="D_ASKER", text=ANSWER, blocks=BLOCKS, **fields)


def methods(slack_api) -> list[str]:
    return [c["method"] for c in slack_api.state.calls]


def test_pieces_rejoin_to_the_text_and_break_between_words() -> None:
    cut = pieces(ANSWER, size=100)
    assert "".join(cut) == ANSWER and len(cut) > 5
    assert all(len(p) <= 100 and p.endswith(" ") for p in cut[:-1])
    assert pieces("", 10) == [] and pieces("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_mrkdwn_becomes_the_markdown_a_stream_takes_and_stays_escaped() -> None:
    assert markdown("*CI* is ~green~ red: <https://ci.example/runs/7|run #7>") == (
        "**CI** is ~~green~~ red: [run #7](https://ci.example/runs/7)")
    # Brackets and parentheses cannot end the link early; escaped text stays escaped.
    assert markdown("<https://x.example/a(b)|[x](https://evil.example)>") == (
        "[&#91;x&#93;(https://evil.example)](https://x.example/a%28b%29)")
    assert markdown("&lt;!channel&gt; 2*3*4 snake_case") == "&lt;!channel&gt; 2*3*4 snake_case"
    # A markdown link in untrusted text stays text: only the bot's own links are links.
    assert markdown("see [the fix](https://evil.example/x) and <https://ci.example/1|run>") == (
        "see &#91;the fix&#93;(https://evil.example/x) and [run](https://ci.example/1)")


def test_the_sections_are_not_repeated_below_the_streamed_text() -> None:
    assert [b["type"] for b in closing_blocks(BLOCKS)] == ["actions", "context"]


async def test_an_answer_in_a_dm_is_streamed_into_one_message(notifier, slack_api,
                                                              wait_until) -> None:
    await send(notifier, dm_answer())
    await wait_until(lambda: _count(notifier, 1))
    [result] = await results(notifier)
    [message] = slack_api.state.messages
    assert result.ok and result.ts == message["ts"]
    assert (message["text"], message["thread_ts"], message["streaming"]) == (
        ANSWER, "1732540000.000100", False)
    assert message["blocks"] == closing_blocks(BLOCKS)
    assert message["metadata"]["event_payload"] == {"run_id": "run-abc", "step_id": "reply-1"}
    calls = methods(slack_api)
    assert calls[0] == "chat.startStream" and calls[-1] == "chat.stopStream"
    assert calls.count("chat.appendStream") == len(pieces(ANSWER)) > 1
    assert "chat.postMessage" not in calls


async def test_a_channel_answer_is_posted_as_before(notifier, slack_api, wait_until) -> None:
    await send(notifier, request(text=ANSWER, blocks=BLOCKS))
    await wait_until(lambda: _count(notifier, 1))
    assert methods(slack_api) == ["chat.postMessage"]


async def test_a_workspace_refusing_streams_gets_the_answer_posted(notifier, slack_api,
                                                                   wait_until) -> None:
    slack_api.state.faults.append(FaultSpec(method="chat.startStream", error="unknown_method"))
    await send(notifier, dm_answer())
    await wait_until(lambda: _count(notifier, 1))
    [result] = await results(notifier)
    [message] = slack_api.state.messages
    assert result.ok and methods(slack_api) == ["chat.startStream", "chat.postMessage"]
    assert message["blocks"] == BLOCKS  # the whole answer, as a post has it


async def test_a_crash_midway_completes_the_same_message(notifier, slack_api,
                                                         wait_until) -> None:
    """Slack fails the first append (a temporary error): the attempt gives up with the
    stream's ts in its claim, and the redelivery completes that message by an edit."""
    slack_api.state.faults.append(FaultSpec(method="chat.appendStream",
                                            error="internal_error"))
    await send(notifier, dm_answer())
    await wait_until(lambda: _count(notifier, 1), within=30)
    await wait_until(lambda: drained(notifier))
    [result] = await results(notifier)
    [message] = slack_api.state.messages
    assert result.ok and result.ts == message["ts"]
    assert (message["text"], message["blocks"], message["streaming"]) == (ANSWER, BLOCKS, False)
    assert methods(slack_api).count("chat.startStream") == 1
    assert methods(slack_api)[-2:] == ["chat.stopStream", "chat.update"]


async def test_a_stream_slack_stops_accepting_is_completed_by_an_edit(notifier, slack_api,
                                                                      wait_until) -> None:
    slack_api.state.faults.append(FaultSpec(method="chat.appendStream",
                                            error="message_not_in_streaming_state"))
    await send(notifier, dm_answer())
    await wait_until(lambda: _count(notifier, 1))
    [result] = await results(notifier)
    [message] = slack_api.state.messages
    assert result.ok and (message["text"], message["blocks"]) == (ANSWER, BLOCKS)
    assert "chat.postMessage" not in methods(slack_api)
