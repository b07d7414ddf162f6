"""`POST /sandbox/send`: what a person types on the channel page, sent on as Slack would.

In the channel, a message that mentions @triage becomes an `app_mention` event; in the
direct-message channel every message is a `message.im` event; `/triage ...` is a slash
command. A channel message without a mention only appears in the channel: Slack sends the
bot nothing for it. The typed message is recorded with the very ts used in the event, so
the bot's reply threads under it.
"""

import re
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from ..people import BY_ID, dm_channel
from ..slack_events import app_mention, direct_message, event_body, slash_command_body
from ..slack_workspace import JsonDict, SandboxSlack
from .ingress import FORM, JSON, Answer, IngressLink, NotConnected

router = APIRouter()
COMMAND = "/triage"
_MENTION = re.compile(r"(?<![\w<])@triage\b", re.I)


class Typed(BaseModel):
    user: str
    channel: str
    text: str = Field(min_length=1, max_length=4000)
    thread_ts: str | None = None


def _refusal(detail: str, status: int = 422) -> HTTPException:
    return HTTPException(status_code=status, detail=detail)


def check_author(ws: SandboxSlack, typed: Typed, channel_id: str) -> None:
    if typed.user not in BY_ID:
        raise _refusal(f"unknown person {typed.user!r}")
    if typed.channel not in (channel_id, dm_channel(typed.user)):
        raise _refusal(f"{typed.user} cannot post in {typed.channel!r}")
    if typed.thread_ts and ws.find(typed.channel, typed.thread_ts) is None:
        raise _refusal("no such thread")


def record_typed(ws: SandboxSlack, typed: Typed, text: str) -> JsonDict:
    return ws.add({
        "type": "message", "channel": typed.channel, "ts": ws.next_ts(), "user": typed.user,
        "team": ws.team_id, "text": text, "blocks": [], "thread_ts": typed.thread_ts,
        "edits": [],
    })


def _event(ws: SandboxSlack, typed: Typed, message: JsonDict) -> tuple[str, JsonDict] | None:
    """(kind, Events API payload) for a typed message, or None: Slack sends nothing."""
    if typed.channel.startswith("D"):
        payload = direct_message(ws.team_id, typed.channel, typed.user, message["text"],
                                 ts=message["ts"])
        if typed.thread_ts:
            payload["event"]["thread_ts"] = typed.thread_ts  # type: ignore[index]
        return "message.im", payload
    if f"<@{ws.bot_user_id}>" not in message["text"]:
        return None
    payload = app_mention(ws.team_id, typed.channel, typed.user, "", ts=message["ts"],
                          thread_ts=typed.thread_ts)
    payload["event"]["text"] = message["text"]  # type: ignore[index]  # as typed
    return "app_mention", payload


def _outcome(kind: str | None, answer: Answer | None) -> dict[str, Any]:
    if answer is None:
        return {"ok": True, "forwarded": None,
                "note": "no @triage mention: Slack sends the bot nothing for this message"}
    out: dict[str, Any] = {"ok": answer.ok, "forwarded": kind, "ingress_status": answer.status}
    if not answer.ok:
        out["error"] = f"the ingress refused the {kind} (HTTP {answer.status}): {answer.body}"
    return out


async def send_command(ws: SandboxSlack, link: IngressLink, typed: Typed,
                       base_url: str) -> dict[str, Any]:
    """A slash command is not a message: Slack shows only the app's answer, to the user.
    Its response_url lets the app answer even where the bot is not a member."""
    name, _, text = typed.text.strip().partition(" ")
    if name != COMMAND:
        raise _refusal(f"{name} is not a command in this workspace (try {COMMAND} ...)")
    slot = ws.open_response_slot(typed.user, typed.channel, "", None)
    body = slash_command_body(ws.team_id, typed.channel, typed.user, text.strip(),
                              response_url=f"{base_url.rstrip('/')}/sandbox/response/{slot}")
    answer = await link.send("/slack/commands", body, FORM, f"{COMMAND} from {typed.user}")
    shown = (answer.body.get("text") if answer.ok and isinstance(answer.body, dict)
             else f"{COMMAND} failed: the app answered HTTP {answer.status}")
    ws.add({
        "type": "message", "channel": typed.channel, "ts": ws.next_ts(), "user": ws.bot_user_id,
        "bot_id": "BSANDBOX", "text": str(shown), "thread_ts": None, "edits": [],
        "ephemeral_to": typed.user,
        "blocks": [{"type": "context", "elements": [
                       {"type": "mrkdwn", "text": f"You used `{typed.text.strip()[:200]}`"}]},
                   {"type": "section", "text": {"type": "mrkdwn", "text": str(shown)}}],
    })
    return _outcome("slash command", answer)


@router.post("/sandbox/send")
async def send(typed: Typed, request: Request) -> dict[str, Any]:
    ws: SandboxSlack = request.app.state.slack
    link: IngressLink = request.app.state.ingress_link
    check_author(ws, typed, link.settings.channel_id)
    try:
        if typed.text.lstrip().startswith("/"):
            return await send_command(ws, link, typed, str(request.base_url))
        text = _MENTION.sub(f"<@{ws.bot_user_id}>", typed.text.strip())
        message = record_typed(ws, typed, text)
        event = _event(ws, typed, message)
        if event is None:
            return _outcome(None, None)
        kind, payload = event
        answer = await link.send("/slack/events", event_body(payload), JSON,
                                 f"{kind} from {typed.user}")
        return _outcome(kind, answer)
    except NotConnected as exc:
        raise _refusal(str(exc), 502) from exc
