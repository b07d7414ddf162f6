"""The channel page's backend: what people type and click leaves the stand-in signed and in
Slack's shapes, and what apps send back (response_url, views.open, chat.update) reaches the
page live. Real HTTP on loopback: the stand-in and a recording app endpoint under uvicorn,
slack-sdk's real client for `views.open`."""

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from triage_sandbox.channel.settings import ChannelSettings
from triage_sandbox.slack_api import SandboxSlack, build_slack_api

from .test_slack_api import serving

SECRET = "sandbox-test-secret"
TOKEN = "xoxb-sandbox-token"


@dataclass
class App:
    """The app side (what the ingress would be): checks signatures, records, answers."""

    received: list[tuple[str, Any]] = field(default_factory=list)

    def build(self) -> FastAPI:
        app = FastAPI()
        verifier = SignatureVerifier(SECRET)

        @app.post("/slack/{kind}")
        async def slack(kind: str, request: Request) -> Any:
            body = await request.body()
            assert verifier.is_valid_request(body, dict(request.headers)), "bad signature"
            if kind == "events":
                self.received.append((kind, json.loads(body)))
                return {"ok": True}
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if kind == "commands":
                self.received.append((kind, form))
                return {"response_type": "ephemeral", "text": "Looking into it…"}
            payload = json.loads(form["payload"])
            self.received.append((kind, payload))
            reason = (payload.get("view", {}).get("state", {}).get("values", {})
                      .get("why", {}).get("reason", {}).get("value"))
            if payload["type"] == "view_submission" and not reason:
                return {"response_action": "errors", "errors": {"why": "say why"}}
            return None

        return app


@pytest.fixture
async def channel() -> AsyncIterator[tuple[httpx.AsyncClient, SandboxSlack, App]]:
    recorder = App()
    async with serving(recorder.build()) as app_url:
        settings = ChannelSettings(_env_file=None, signing_secret=SecretStr(SECRET),
                                   ingress_url=app_url, approval_url="http://approvals.test")
        standin = build_slack_api(bot_token=TOKEN, channel=settings)
        async with serving(standin) as url, httpx.AsyncClient(base_url=url) as http:
            yield http, standin.state.slack, recorder


async def test_page_and_config_are_served_and_labelled(channel) -> None:
    http, _, _ = channel
    page = await http.get("/")
    assert page.status_code == 200 and "SANDBOX" in page.text
    config = (await http.get("/sandbox/config")).json()
    assert config["sandbox"] is True and config["connected"] is True
    assert [(p["user_id"], p["role"]) for p in config["people"]] == [
        ("U_REQUESTER", "requester"), ("U_APPROVER", "approver"), ("U_LEAD", "approver"),
        ("U_VIEWER", "not an approver")]
    assert (await http.get("/sandbox/static/../settings.py")).status_code == 404


async def test_mention_is_recorded_and_sent_as_a_signed_app_mention(channel) -> None:
    http, ws, app = channel
    sent = await http.post("/sandbox/send", json={
        "user": "U_REQUESTER", "channel": "C_TRIAGE", "text": "@triage why is it failing?"})
    assert sent.json() == {"ok": True, "forwarded": "app_mention", "ingress_status": 200}
    [typed] = ws.messages
    [(kind, payload)] = app.received
    event = payload["event"]
    assert kind == "events" and payload["type"] == "event_callback"
    assert (event["type"], event["user"], event["ts"], event["text"]) == (
        "app_mention", "U_REQUESTER", typed["ts"], "<@UBOT> why is it failing?")
    assert typed["text"] == event["text"] and typed["user"] == "U_REQUESTER"

    quiet = await http.post("/sandbox/send", json={
        "user": "U_VIEWER", "channel": "C_TRIAGE", "text": "no mention here"})
    assert quiet.json()["forwarded"] is None and len(app.received) == 1
    dm = await http.post("/sandbox/send", json={
        "user": "U_VIEWER", "channel": "D_VIEWER", "text": "hello bot"})
    assert dm.json()["forwarded"] == "message.im"
    assert app.received[-1][1]["event"]["channel_type"] == "im"
    elsewhere = await http.post("/sandbox/send", json={
        "user": "U_VIEWER", "channel": "D_REQUESTER", "text": "hi"})
    assert elsewhere.status_code == 422


async def test_slash_command_answer_is_shown_to_the_user_only(channel) -> None:
    http, ws, app = channel
    sent = await http.post("/sandbox/send", json={
        "user": "U_LEAD", "channel": "C_TRIAGE", "text": "/triage what changed?"})
    assert sent.json()["ok"] is True
    [(kind, form)] = app.received
    assert (kind, form["command"], form["text"], form["user_id"]) == (
        "commands", "/triage", "what changed?", "U_LEAD")
    [shown] = ws.messages
    assert shown["ephemeral_to"] == "U_LEAD" and shown["text"] == "Looking into it…"
    unknown = await http.post("/sandbox/send", json={
        "user": "U_LEAD", "channel": "C_TRIAGE", "text": "/deploy now"})
    assert unknown.status_code == 422 and "/triage" in unknown.json()["detail"]


async def test_click_sends_block_actions_and_response_url_answers_in_thread(channel) -> None:
    http, ws, app = channel
    slack = AsyncWebClient(token=TOKEN, base_url=f"{str(http.base_url).rstrip('/')}/api/")
    prompt = await slack.chat_postMessage(
        channel="C_TRIAGE", thread_ts="1.000001", text="Approval needed", blocks=[
            {"type": "actions", "block_id": "approval:ap-1", "elements": [
                {"type": "button", "action_id": "approval_approve", "value": "ap-1",
                 "text": {"type": "plain_text", "text": "Approve"}}]}])
    clicked = await http.post("/sandbox/click", json={
        "user": "U_REQUESTER", "channel": "C_TRIAGE", "message_ts": prompt["ts"],
        "action_id": "approval_approve", "block_id": "approval:ap-1"})
    assert clicked.json() == {"ok": True, "ingress_status": 200}
    [(_, payload)] = app.received
    assert (payload["type"], payload["user"]["id"], payload["team"]["id"]) == (
        "block_actions", "U_REQUESTER", "TSANDBOX")
    assert payload["actions"][0]["value"] == "ap-1"
    assert payload["container"]["message_ts"] == prompt["ts"]
    forged = await http.post("/sandbox/click", json={
        "user": "U_REQUESTER", "channel": "C_TRIAGE", "message_ts": prompt["ts"],
        "action_id": "approval_approve", "block_id": "approval:other"})
    assert forged.status_code == 404  # only buttons the message has can be clicked

    told = await http.post(payload["response_url"], json={
        "response_type": "ephemeral", "replace_original": False, "text": "Not recorded."})
    assert told.text == "ok"
    note = ws.messages[-1]
    assert (note["ephemeral_to"], note["thread_ts"], note["text"]) == (
        "U_REQUESTER", "1.000001", "Not recorded.")
    assert (await http.post("/sandbox/response/unknown", json={"text": "x"})).status_code == 404


async def test_modal_opens_live_and_submission_errors_come_back(channel) -> None:
    http, ws, app = channel
    queue = ws.subscribe()
    slack = AsyncWebClient(token=TOKEN, base_url=f"{str(http.base_url).rstrip('/')}/api/")
    trigger = ws.new_trigger("U_APPROVER")
    view = {"type": "modal", "callback_id": "approval_reject", "private_metadata": "{}",
            "title": {"type": "plain_text", "text": "Reject"},
            "blocks": [{"type": "input", "block_id": "why", "label": {
                "type": "plain_text", "text": "Reason"},
                "element": {"type": "plain_text_input", "action_id": "reason"}}]}
    opened = (await slack.views_open(trigger_id=trigger, view=view))["view"]
    assert (await queue.get())["type"] == "view_opened"
    with pytest.raises(SlackApiError, match="exchanged_trigger_id"):  # one use per trigger
        await slack.views_open(trigger_id=trigger, view=view)
    with pytest.raises(SlackApiError, match="invalid_trigger_id"):
        await slack.views_open(trigger_id="1.2.never-issued", view=view)
    ws.unsubscribe(queue)

    def submit(reason: str) -> Any:
        return http.post("/sandbox/view_submit", json={
            "user": "U_APPROVER", "view_id": opened["id"], "values": {"why": {"reason": reason}}})

    assert (await submit("")).json() == {"ok": False, "errors": {"why": "say why"}}
    assert (await submit("roll back")).json() == {"ok": True}
    assert app.received[-1][1]["view"]["state"]["values"]["why"]["reason"]["value"] == "roll back"
    assert ws.views == {}


async def test_stream_starts_with_a_snapshot_then_follows_changes(channel) -> None:
    http, ws, _ = channel
    slack = AsyncWebClient(token=TOKEN, base_url=f"{str(http.base_url).rstrip('/')}/api/")
    first = await slack.chat_postMessage(channel="C_TRIAGE", text="*before*")
    events: list[dict[str, Any]] = []
    snapshot_read = asyncio.Event()

    async def read() -> None:
        async with http.stream("GET", "/sandbox/stream") as resp:
            async for line in resp.aiter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
                    snapshot_read.set()
                    if len(events) == 2:
                        return

    reader = asyncio.create_task(read())
    await asyncio.wait_for(snapshot_read.wait(), 10)
    await slack.chat_update(channel="C_TRIAGE", ts=first["ts"], text="after")
    await asyncio.wait_for(reader, 10)
    snapshot, change = events
    assert snapshot["type"] == "snapshot"
    assert snapshot["messages"][0]["html"] == '<div class="bk-text"><b>before</b></div>'
    assert change["type"] == "message_changed" and change["message"]["edited"] is True
