"""The stand-in's assistant and streaming methods, called through the real slack-sdk client
(its `chat_stream()` helper included) over real HTTP."""

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from triage_sandbox.blockkit import message_html
from triage_sandbox.channel.stream import snapshot, wire_event
from triage_sandbox.slack_api import SandboxSlack, build_slack_api

from .test_slack_api import serving

TOKEN = "xoxb-sandbox-token"


@pytest.fixture
async def slack() -> AsyncIterator[tuple[AsyncWebClient, SandboxSlack]]:
    app = build_slack_api()
    async with serving(app) as url:
        yield AsyncWebClient(token=TOKEN, base_url=f"{url}/api/", retry_handlers=[]), \
            app.state.slack


async def _refused(call) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call
    return str(caught.value.response["error"])


async def test_the_sdk_stream_helper_grows_one_message_then_finishes_it(slack) -> None:
    web, ws = slack
    events = ws.subscribe()
    stream = await web.chat_stream(channel="D1", thread_ts="1.000100", buffer_size=5)
    await stream.append(markdown_text="CI is red ")
    await stream.append(markdown_text="since abc123.")
    meta = {"event_type": "triage_message", "event_payload": {"run_id": "r", "step_id": "s"}}
    done = await stream.stop(blocks=[{"type": "divider"}], metadata=meta)
    [message] = ws.messages
    assert (done["ts"], message["text"]) == (message["ts"], "CI is red since abc123.")
    assert (message["blocks"], message["metadata"], message["streaming"]) == (
        [{"type": "divider"}], meta, False)
    seen = [events.get_nowait() for _ in range(events.qsize())]
    assert [e["message"]["text"] for e in seen if "message" in e] == [
        "CI is red ", "CI is red since abc123.", "CI is red since abc123."]
    assert [c["method"] for c in ws.calls] == [
        "chat.startStream", "chat.appendStream", "chat.stopStream"]


async def test_a_channel_stream_needs_its_recipient_as_in_slack(slack) -> None:
    web, ws = slack
    assert await _refused(web.chat_startStream(channel="C1", thread_ts="1.0",
                                               markdown_text="x")) == "channel_type_not_supported"
    assert await _refused(web.chat_startStream(channel="C_PRIVATE", thread_ts="1.0",
                                               markdown_text="x")) == "not_in_channel"
    started = await web.chat_startStream(channel="C1", thread_ts="1.0", markdown_text="x",
                                         recipient_user_id="U1", recipient_team_id="T1")
    assert started["ts"] == ws.messages[0]["ts"]


async def test_a_stopped_stream_is_no_longer_appendable(slack) -> None:
    web, _ = slack
    started = await web.chat_startStream(channel="D1", thread_ts="1.0", markdown_text="a")
    await web.chat_stopStream(channel="D1", ts=started["ts"])
    for call in (web.chat_appendStream(channel="D1", ts=started["ts"], markdown_text="b"),
                 web.chat_stopStream(channel="D1", ts=started["ts"])):
        assert await _refused(call) == "message_not_in_streaming_state"
    assert await _refused(web.chat_appendStream(channel="D1", ts="9.9", markdown_text="b")
                          ) == "message_not_found"


async def test_stream_limits_and_bad_chunks_are_refused(slack) -> None:
    web, _ = slack
    assert await _refused(web.chat_startStream(channel="D1", thread_ts="1.0",
                                               markdown_text="x" * 12_001)) == "msg_too_long"
    assert await _refused(web.chat_startStream(
        channel="D1", thread_ts="1.0", chunks=[{"type": "task_update", "id": "1"}])
    ) == "invalid_chunks"
    started = await web.chat_startStream(channel="D1", thread_ts="1.0", markdown_text="a")
    assert await _refused(web.chat_stopStream(channel="D1", ts=started["ts"],
                                              blocks=[{"type": "nope"}])) == "invalid_blocks"


async def test_suggested_prompts_and_title_are_kept_per_thread(slack) -> None:
    web, ws = slack
    prompts = [{"title": "CI", "message": "Why is CI failing on main?"}]
    await web.assistant_threads_setSuggestedPrompts(channel_id="D1", thread_ts="1.0",
                                                    prompts=prompts, title="Try")
    await web.assistant_threads_setTitle(channel_id="D1", thread_ts="1.0", title="CI on main")
    assert ws.assistant_threads[("D1", "1.0")] == {"prompts": prompts, "title": "CI on main"}
    five = prompts * 5
    assert await _refused(web.assistant_threads_setSuggestedPrompts(
        channel_id="D1", prompts=five)) == "invalid_arguments"
    assert await _refused(web.assistant_threads_setTitle(
        channel_id="D1", thread_ts="1.0", title="")) == "invalid_arguments"



async def test_the_channel_page_hears_the_stream_title_and_prompts(slack) -> None:
    """What /sandbox/stream sends the page: the growing text, then text and closing blocks
    (as Slack shows a finished stream), and the thread's title and prompts."""
    web, ws = slack
    events = ws.subscribe()
    started = await web.chat_startStream(channel="D1", thread_ts="1.0", markdown_text="CI ")
    await web.chat_appendStream(channel="D1", ts=started["ts"], markdown_text="is *red*")
    await web.chat_stopStream(channel="D1", ts=started["ts"], blocks=[
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "run r1"}]}])
    await web.assistant_threads_setTitle(channel_id="D1", thread_ts="1.0", title="CI &lt;x&gt;")
    wired = [wire_event(events.get_nowait(), {}) for _ in range(events.qsize())]
    grown = [(e["message"]["streaming"], e["message"]["html"]) for e in wired if "message" in e]
    assert grown[0] == (True, '<div class="bk-text">CI </div>')
    assert grown[1] == (True, '<div class="bk-text">CI is <b>red</b></div>')
    assert grown[2][0] is False and grown[2][1].startswith(
        '<div class="bk-text">CI is <b>red</b></div>') and "run r1" in grown[2][1]
    assert wired[-1] == {"type": "title", "channel": "D1", "thread_ts": "1.0",
                         "title": "CI &lt;x&gt;"}
    assert snapshot(ws, {})["assistant"] == [
        {"channel": "D1", "thread_ts": "1.0", "title": "CI &lt;x&gt;"}]


def test_the_page_shows_a_streams_markdown_like_slack() -> None:
    streamed = {"streamed": True, "blocks": [],
                "text": "**CI** is ~~green~~ [run #7](https://ci.example/runs/7)"}
    assert message_html(streamed) == (
        '<div class="bk-text"><b>CI</b> is <s>green</s> '
        '<a href="https://ci.example/runs/7" target="_blank" rel="noopener noreferrer">'
        'run #7</a></div>')


async def test_an_edit_with_blocks_replaces_a_streamed_text(slack) -> None:
    web, ws = slack
    started = await web.chat_startStream(channel="D1", thread_ts="1.0", markdown_text="draft")
    await web.chat_stopStream(channel="D1", ts=started["ts"])
    await web.chat_update(channel="D1", ts=started["ts"], text="final", blocks=[
        {"type": "section", "text": {"type": "mrkdwn", "text": "final"}}])
    assert "draft" not in message_html(ws.messages[0])
