"""The Slack Web API stand-in speaks what slack-sdk expects: the real AsyncWebClient, over
real HTTP (uvicorn on a free port), gets Slack's shapes, errors and rate limits."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from triage_contracts.testing.natsserver import free_port
from triage_sandbox.slack_api import SandboxSlack, build_slack_api

TOKEN = "xoxb-sandbox-token"


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                raise RuntimeError("uvicorn exited during start-up")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)


@pytest.fixture
async def standin() -> AsyncIterator[tuple[str, SandboxSlack]]:
    app = build_slack_api()
    async with serving(app) as url:
        yield url, app.state.slack


def client(url: str, token: str = TOKEN) -> AsyncWebClient:
    # No retry handlers: these tests must see the raw 429.
    return AsyncWebClient(token=token, base_url=f"{url}/api/", retry_handlers=[])


async def test_auth_test_names_the_bot(standin) -> None:
    url, _ = standin
    resp = await client(url).auth_test()
    assert (resp["ok"], resp["user_id"], resp["team_id"]) == (True, "UBOT", "TSANDBOX")


async def test_post_reply_update_and_replies_with_metadata(standin) -> None:
    url, ws = standin
    slack = client(url)
    parent = await slack.chat_postMessage(channel="C1", text="question?")
    meta = {"event_type": "triage_message", "event_payload": {"run_id": "r1", "step_id": "s1"}}
    reply = await slack.chat_postMessage(channel="C1", thread_ts=parent["ts"], text="draft",
                                         blocks=[{"type": "section", "text": {
                                             "type": "mrkdwn", "text": "*draft*"}}],
                                         metadata=meta, unfurl_links=False)
    assert reply["channel"] == "C1" and reply["message"]["thread_ts"] == parent["ts"]
    assert reply["ts"] > parent["ts"]
    updated = await slack.chat_update(channel="C1", ts=reply["ts"], text="final answer")
    assert updated["ts"] == reply["ts"] and updated["text"] == "final answer"

    with_meta = await slack.conversations_replies(channel="C1", ts=parent["ts"],
                                                  include_all_metadata=True)
    assert [m["ts"] for m in with_meta["messages"]] == [parent["ts"], reply["ts"]]
    assert with_meta["messages"][1]["metadata"] == meta
    without = await slack.conversations_replies(channel="C1", ts=parent["ts"])
    assert "metadata" not in without["messages"][1]

    [_, stored] = ws.messages
    assert stored["blocks"][0]["type"] == "section" and stored["text"] == "final answer"
    assert [e["text"] for e in stored["edits"]] == ["draft"]


async def test_sandbox_endpoints_list_messages_and_calls(standin) -> None:
    url, _ = standin
    await client(url).chat_postMessage(channel="C1", text="hello", thread_ts="1.000001")
    async with httpx.AsyncClient(base_url=url) as http:
        messages = (await http.get("/sandbox/messages")).json()
        calls = (await http.get("/sandbox/calls")).json()
    assert [(m["text"], m["thread_ts"], m["edits"]) for m in messages] == [
        ("hello", "1.000001", [])]
    assert [c["method"] for c in calls] == ["chat.postMessage"]
    assert TOKEN not in json.dumps(calls)  # the token is not recorded


async def test_wrong_token_is_invalid_auth_with_http_200(standin) -> None:
    url, ws = standin
    with pytest.raises(SlackApiError) as err:
        await client(url, "xoxb-wrong").chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 200
    assert err.value.response["error"] == "invalid_auth"
    assert ws.messages == []


async def test_form_encoded_calls_with_token_in_the_body_work(standin) -> None:
    url, ws = standin
    async with httpx.AsyncClient(base_url=url) as http:
        resp = await http.post("/api/chat.postMessage", data={
            "token": TOKEN, "channel": "C2", "text": "form",
            "blocks": json.dumps([{"type": "divider"}])})
        missing = await http.post("/api/chat.postMessage", data={"channel": "C2", "text": "x"})
    assert resp.json()["ok"] is True
    assert ws.messages[0]["blocks"] == [{"type": "divider"}]
    assert missing.json() == {"ok": False, "error": "not_authed"}


async def test_ts_are_unique_and_increasing(standin) -> None:
    url, _ = standin
    slack = client(url)
    ts = [(await slack.chat_postMessage(channel="C1", text=str(i)))["ts"] for i in range(30)]
    assert ts == sorted(ts) and len(set(ts)) == 30
    assert all(len(t.split(".")[1]) == 6 for t in ts)


async def test_ratelimit_fault_is_a_429_with_retry_after_once(standin) -> None:
    url, ws = standin
    async with httpx.AsyncClient(base_url=url) as http:
        await http.post("/sandbox/faults", json={"method": "chat.postMessage",
                                                 "error": "ratelimited", "times": 1})
    with pytest.raises(SlackApiError) as err:
        await client(url).chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "1"
    assert (await client(url).chat_postMessage(channel="C1", text="x"))["ok"]
    assert len(ws.messages) == 1


async def test_an_outage_lasts_until_its_faults_are_cleared(standin) -> None:
    url, ws = standin
    async with httpx.AsyncClient(base_url=url) as http:
        await http.post("/sandbox/faults", json={"method": "chat.postMessage", "status": 503,
                                                 "error": "internal_error", "times": 1000})
        for _ in range(2):
            assert (await http.post("/api/chat.postMessage", data={
                "channel": "C1", "text": "x"})).status_code == 503
        assert (await http.delete("/sandbox/faults")).json() == {"ok": True, "pending": []}
    assert (await client(url).chat_postMessage(channel="C1", text="x"))["ok"]
    assert len(ws.messages) == 1


async def test_users_ephemeral_and_history(standin) -> None:
    url, ws = standin
    slack = client(url)
    assert (await slack.users_info(user="U_APPROVER"))["user"]["real_name"] == "Avery"
    with pytest.raises(SlackApiError, match="user_not_found"):
        await slack.users_info(user="U_NOBODY")
    eph = await slack.chat_postEphemeral(channel="C1", user="U_REQUESTER", text="only you")
    top = await slack.chat_postMessage(channel="C1", text="top")
    history = await slack.conversations_history(channel="C1")
    assert [m["ts"] for m in history["messages"]] == [top["ts"]]  # ephemerals are private
    assert ws.messages[0]["ts"] == eph["message_ts"]
    assert ws.messages[0]["ephemeral_to"] == "U_REQUESTER"


async def test_subscribers_see_new_and_changed_messages(standin) -> None:
    url, ws = standin
    queue = ws.subscribe()
    posted = await client(url).chat_postMessage(channel="C1", text="v1")
    await client(url).chat_update(channel="C1", ts=posted["ts"], text="v2")
    first, second = queue.get_nowait(), queue.get_nowait()
    assert (first["type"], first["message"]["text"]) == ("message", "v1")
    assert (second["type"], second["message"]["text"]) == ("message_changed", "v2")
    ws.unsubscribe(queue)
    await client(url).chat_postMessage(channel="C1", text="v3")
    assert queue.empty()


async def test_unknown_method_and_missing_message(standin) -> None:
    url, _ = standin
    with pytest.raises(SlackApiError, match="unknown_method"):
        await client(url).api_call("chat.doesNotExist", json={})
    with pytest.raises(SlackApiError, match="message_not_found"):
        await client(url).chat_update(channel="C1", ts="1.000000", text="x")


# --- Slack's limits: what real Slack refuses, the stand-in refuses -----------------------


def _section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize(("kwargs", "error", "said"), [
    ({"text": "x" * 40_001}, "msg_too_long", None),
    ({"text": "t", "blocks": [_section("x" * 3_001)]}, "invalid_blocks", "/blocks/0/text/text"),
    ({"text": "t", "blocks": [_section("ok")] * 51}, "invalid_blocks", "no more than 50"),
    ({"text": "t", "blocks": [{"type": "header", "text": {"type": "plain_text",
                                                          "text": "h" * 151}}]},
     "invalid_blocks", "/blocks/0/text/text"),
    ({"text": "t", "blocks": [{"type": "carousel"}]}, "invalid_blocks", "unsupported type"),
    ({"text": "t", "blocks": [{**_section("a"), "block_id": "b"},
                              {**_section("b"), "block_id": "b"}]},
     "invalid_blocks", "duplicate block_id"),
])
async def test_messages_over_slacks_limits_are_refused(standin, kwargs, error, said) -> None:
    url, ws = standin
    with pytest.raises(SlackApiError) as refused:
        await client(url).chat_postMessage(channel="C1", **kwargs)
    assert refused.value.response["error"] == error
    if said is not None:
        assert any(said in m for m in refused.value.response["response_metadata"]["messages"])
    assert ws.messages == []
    # Within the limits, the same message goes through.
    await client(url).chat_postMessage(channel="C1", text="t", blocks=[_section("x" * 3_000)])


async def test_only_the_apps_own_messages_can_be_edited(standin) -> None:
    url, ws = standin
    person = ws.add({"type": "message", "channel": "C1", "ts": ws.next_ts(), "user": "U1",
                     "text": "my question", "blocks": [], "thread_ts": None, "edits": []})
    with pytest.raises(SlackApiError) as refused:
        await client(url).chat_update(channel="C1", ts=person["ts"], text="edited by a bot")
    assert refused.value.response["error"] == "cant_update_message"
    mine = await client(url).chat_postMessage(channel="C1", text="answer")
    done = await client(url).chat_update(channel="C1", ts=mine["ts"], text="better answer")
    assert done["text"] == "better answer"


async def test_a_channel_the_bot_has_not_joined_refuses_posts(standin) -> None:
    url, _ = standin
    with pytest.raises(SlackApiError) as refused:
        await client(url).chat_postMessage(channel="C_PRIVATE", text="hello")
    assert refused.value.response["error"] == "not_in_channel"


async def test_a_public_channel_the_bot_is_not_in_takes_posts_only_with_chat_write_public(
        standin) -> None:
    url, ws = standin
    with pytest.raises(SlackApiError) as refused:
        await client(url).chat_postMessage(channel="C_OPEN", text="hello")
    assert refused.value.response["error"] == "not_in_channel"
    ws.bot_scopes.add("chat:write.public")
    posted = await client(url).chat_postMessage(channel="C_OPEN", text="hello")
    assert posted["channel"] == "C_OPEN"
    with pytest.raises(SlackApiError) as private:  # the scope opens public channels only
        await client(url).chat_postMessage(channel="C_PRIVATE", text="hello")
    assert private.value.response["error"] == "not_in_channel"
