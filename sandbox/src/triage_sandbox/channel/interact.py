"""Interactivity of the channel page, played as Slack plays it.

A click on a button becomes a signed `block_actions` payload for the ingress, with a fresh
trigger id (for `views.open`) and a response_url pointing back here. What the app sends
to that response_url shows in the clicked message's thread: ephemeral answers only to the
person who clicked ("Only visible to you"). A modal opened with `views.open` shows on the
page; submitting it sends a signed `view_submission`, and errors the app answers are shown
under the modal's inputs, as in Slack.
"""

import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from ..slack_workspace import BOT_ID, RESPONSE_USES, JsonDict, SandboxSlack, json_field
from .ingress import FORM, IngressLink, NotConnected
from .payloads import block_actions, find_button, form_body, view_submission

router = APIRouter()


class Clicked(BaseModel):
    user: str
    channel: str
    message_ts: str
    action_id: str
    block_id: str = ""


class Submitted(BaseModel):
    user: str
    view_id: str
    values: dict[str, dict[str, str]] = {}


class Closed(BaseModel):
    user: str
    view_id: str


def _state(request: Request) -> tuple[SandboxSlack, IngressLink]:
    return request.app.state.slack, request.app.state.ingress_link


def _open_view(ws: SandboxSlack, view_id: str, user: str) -> JsonDict:
    """A modal is only ever visible to, and answerable by, the person it was opened for."""
    opened = ws.views.get(view_id)
    if opened is None or opened["user"] != user:
        raise HTTPException(404, "no such open view")
    return opened


async def _interact(link: IngressLink, payload: JsonDict, what: str) -> Any:
    """Send an interaction payload to the app, signed; an unreachable app is a 502."""
    try:
        return await link.send("/slack/interactivity", form_body(payload), FORM, what)
    except NotConnected as exc:
        raise HTTPException(502, str(exc)) from exc


def _visible(message: JsonDict, user: str) -> bool:
    return message.get("ephemeral_to") in (None, user)


@router.post("/sandbox/click")
async def click(clicked: Clicked, request: Request) -> dict[str, Any]:
    ws, link = _state(request)
    message = ws.find(clicked.channel, clicked.message_ts)
    if message is None or not _visible(message, clicked.user):
        raise HTTPException(404, "no such message")
    button = find_button(message, clicked.action_id, clicked.block_id)
    if button is None:
        raise HTTPException(404, "that message has no such button")
    slot = ws.open_response_slot(clicked.user, clicked.channel, message["ts"],
                                 message.get("thread_ts") or message["ts"])
    response_url = f"{str(request.base_url).rstrip('/')}/sandbox/response/{slot}"
    payload = block_actions(ws.team_id, clicked.user, message, button, clicked.block_id,
                            ws.new_trigger(clicked.user), response_url)
    answer = await _interact(link, payload, f"click on {clicked.action_id} by {clicked.user}")
    out: dict[str, Any] = {"ok": answer.ok, "ingress_status": answer.status}
    if not answer.ok:
        out["error"] = f"the app answered HTTP {answer.status}: {answer.body}"
    return out


@router.post("/sandbox/view_submit")
async def view_submit(submitted: Submitted, request: Request) -> dict[str, Any]:
    ws, link = _state(request)
    opened = _open_view(ws, submitted.view_id, submitted.user)
    payload = view_submission(ws.team_id, submitted.user, opened["view"],
                              ws.new_trigger(submitted.user), submitted.values)
    what = f"view_submission of {opened['view'].get('callback_id')} by {submitted.user}"
    answer = await _interact(link, payload, what)
    if not answer.ok:
        return {"ok": False, "error": f"the app answered HTTP {answer.status}: {answer.body}"}
    body = answer.body if isinstance(answer.body, dict) else {}
    if body.get("response_action") == "errors":
        return {"ok": False, "errors": body.get("errors") or {}}
    _close(ws, submitted.view_id)
    return {"ok": True}


@router.post("/sandbox/view_close")
async def view_close(closed: Closed, request: Request) -> dict[str, Any]:
    ws, _ = _state(request)
    _open_view(ws, closed.view_id, closed.user)
    _close(ws, closed.view_id)  # notify_on_close is not used: the app hears nothing
    return {"ok": True}


def _close(ws: SandboxSlack, view_id: str) -> None:
    opened = ws.views.pop(view_id, None)
    if opened is not None:
        ws.notify({"type": "view_closed", "user": opened["user"], "view": {"id": view_id}})


@router.post("/sandbox/response/{slot_id}")
async def response_url(slot_id: str, request: Request) -> PlainTextResponse:
    """What an app POSTs to a response_url (JSON), applied as Slack applies it."""
    ws, _ = _state(request)
    try:
        body = await request.json()
    except ValueError:
        return PlainTextResponse("invalid_payload", 400)
    ws.responses.append({"slot": slot_id, "body": body, "at": time.time()})
    slot = ws.response_slots.get(slot_id)
    if slot is None or slot["uses"] >= RESPONSE_USES:
        return PlainTextResponse("expired_url", 404)
    if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")
                                          or body.get("delete_original")):
        return PlainTextResponse("no_text", 400)
    slot["uses"] += 1
    _apply(ws, slot, body)
    return PlainTextResponse("ok")


def _apply(ws: SandboxSlack, slot: JsonDict, body: JsonDict) -> None:
    original = ws.find(slot["channel"], slot["message_ts"])
    if body.get("delete_original") and original is not None:
        ws.remove(original)
        return
    blocks = json_field(body.get("blocks")) or []
    if body.get("replace_original") is True and original is not None:
        original["edits"].append({"text": original["text"], "blocks": original["blocks"],
                                  "replaced_at": ws.next_ts()})
        original.update(text=body.get("text") or "", blocks=blocks)
        ws.changed(original)
        return
    ephemeral = body.get("response_type") != "in_channel"
    ws.add({
        "type": "message", "channel": slot["channel"], "ts": ws.next_ts(),
        "user": ws.bot_user_id, "bot_id": BOT_ID, "text": body.get("text") or "",
        "blocks": blocks, "thread_ts": slot["thread_ts"], "edits": [],
        "ephemeral_to": slot["user"] if ephemeral else None,
    })
