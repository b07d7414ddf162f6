"""A Slack Web API stand-in, so the notifier's real slack-sdk client runs unchanged on one
machine and in tests: same URLs (`/api/<method>`), same JSON shapes, same errors (HTTP 200
with `ok: false`, 429 with Retry-After when rate limited).

It keeps messages in memory (`slack_workspace.py`), logs every call, can be told to fail
(`POST /sandbox/faults`, ended by `DELETE`), and, given a `ChannelSettings`, also serves
the sandbox channel page at `/` that plays a Slack channel in the browser (`channel/`).
"""

import asyncio
import json
import time
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .channel import install_channel
from .channel.settings import ChannelSettings
from .people import DEMO_USERS
from .slack_assistant import METHODS as ASSISTANT_METHODS
from .slack_files import FILE_METHODS, install_files
from .slack_limits import block_problems, text_problem
from .slack_oauth import SandboxOAuth, install_oauth
from .slack_socket import SocketHub, install_socket_mode
from .slack_workspace import (
    BOT_ID,
    FaultSpec,
    JsonDict,
    SandboxSlack,
    error,
    json_field,
    public,
)

__all__ = ["DEMO_USERS", "FaultSpec", "SandboxSlack", "build_slack_api"]
_TRUE = {"1", "true", "yes"}


def auth_test(ws: SandboxSlack, _: JsonDict) -> JsonDict:
    return {"ok": True, "url": "https://sandbox.slack.invalid/", "team": "Sandbox",
            "user": "triage", "team_id": ws.team_id, "user_id": ws.bot_user_id,
            "bot_id": BOT_ID, "is_enterprise_install": False}


def post_message(ws: SandboxSlack, args: JsonDict) -> JsonDict:
    channel, text, blocks = args.get("channel"), args.get("text"), json_field(args.get("blocks"))
    if not channel:
        return error("channel_not_found")
    if channel in ws.not_joined:
        return error("not_in_channel")
    if not text and not blocks:
        return error("no_text")
    refused = _refused_content(text, blocks)
    if refused is not None:
        return refused
    message = ws.add({
        "type": "message", "channel": channel, "ts": ws.next_ts(), "user": ws.bot_user_id,
        "bot_id": BOT_ID, "team": ws.team_id, "text": text or "", "blocks": blocks or [],
        "thread_ts": args.get("thread_ts") or None, "metadata": json_field(args.get("metadata")),
        "edits": [],
    })
    if message["thread_ts"] and ws.statuses.pop((channel, message["thread_ts"]), None):
        ws.notify({"type": "status", "channel": channel, "thread_ts": message["thread_ts"],
                   "status": ""})  # the reply replaces the "is working" line
    return {"ok": True, "channel": channel, "ts": message["ts"], "message": public(message)}


def set_status(ws: SandboxSlack, args: JsonDict) -> JsonDict:
    """assistant.threads.setStatus: the thread's "is working" line ("" clears it)."""
    channel, thread = str(args.get("channel_id") or ""), str(args.get("thread_ts") or "")
    if not channel or not thread:
        return error("invalid_arguments")
    if channel in ws.not_joined:
        return error("not_in_channel")
    status = str(args.get("status") or "")
    if status:
        ws.statuses[(channel, thread)] = status
    else:
        ws.statuses.pop((channel, thread), None)
    ws.notify({"type": "status", "channel": channel, "thread_ts": thread, "status": status})
    return {"ok": True}


def _refused_content(text: Any, blocks: Any) -> JsonDict | None:
    """Slack's answer to a message over its limits (None: within them)."""
    problem = text_problem(str(text) if text is not None else None)
    if problem is not None:
        return error(problem)
    problems = block_problems(blocks)
    if problems:
        return {**error("invalid_blocks"), "response_metadata": {"messages": problems}}
    return None


def update(ws: SandboxSlack, args: JsonDict) -> JsonDict:
    message = ws.find(str(args.get("channel")), str(args.get("ts")))
    if message is None:
        return error("message_not_found")
    if message.get("bot_id") != BOT_ID:  # a person's message, or another app's
        return error("cant_update_message")
    refused = _refused_content(args.get("text"), json_field(args.get("blocks")))
    if refused is not None:
        return refused
    message["edits"].append({"text": message["text"], "blocks": message["blocks"],
                             "replaced_at": ws.next_ts()})
    if args.get("text") is not None:
        message["text"] = args["text"]
    if args.get("blocks") is not None:
        message["blocks"] = json_field(args["blocks"])
        message.pop("streamed", None)  # new blocks replace a streamed text too
    message["edited"] = {"user": ws.bot_user_id, "ts": message["edits"][-1]["replaced_at"]}
    ws.changed(message)
    return {"ok": True, "channel": message["channel"], "ts": message["ts"],
            "text": message["text"], "message": public(message)}


def post_ephemeral(ws: SandboxSlack, args: JsonDict) -> JsonDict:
    if not args.get("channel") or not args.get("user"):
        return error("channel_not_found" if not args.get("channel") else "user_not_found")
    message = ws.add({
        "type": "message", "channel": args["channel"], "ts": ws.next_ts(),
        "user": ws.bot_user_id, "bot_id": BOT_ID, "text": args.get("text") or "",
        "blocks": json_field(args.get("blocks")) or [], "thread_ts": args.get("thread_ts"),
        "ephemeral_to": args["user"], "edits": [],
    })
    return {"ok": True, "message_ts": message["ts"]}


def _listing(messages: list[JsonDict], args: JsonDict) -> JsonDict:
    with_metadata = str(args.get("include_all_metadata", "")).lower() in _TRUE
    limit = int(args.get("limit") or 100)
    return {"ok": True, "messages": [public(m, with_metadata) for m in messages[:limit]],
            "has_more": len(messages) > limit}


def replies(ws: SandboxSlack, args: JsonDict) -> JsonDict:
    channel, thread = args.get("channel"), args.get("ts")
    if not channel or not thread:
        return error("invalid_arguments")
    # Unknown threads answer an empty list: the asking message may live only in real Slack
    # (it is here when it was typed on the channel page).
    found = [m for m in ws.messages if m["channel"] == channel and not m.get("ephemeral_to")
             and (m["ts"] == thread or m.get("thread_ts") == thread)]
    return _listing(sorted(found, key=lambda m: m["ts"]), args)


def history(ws: SandboxSlack, args: JsonDict) -> JsonDict:
    found = [m for m in ws.messages if m["channel"] == args.get("channel")
             and not m.get("ephemeral_to") and m.get("thread_ts") in (None, m["ts"])]
    return _listing(sorted(found, key=lambda m: m["ts"], reverse=True), args)


def users_info(ws: SandboxSlack, args: JsonDict) -> JsonDict:
    user_id = str(args.get("user"))
    if user_id == ws.bot_user_id:
        profile: JsonDict = {"name": "triage", "real_name": "Triage bot", "title": "Bot"}
    elif user_id in DEMO_USERS:
        profile = dict(DEMO_USERS[user_id])
    else:
        return error("user_not_found")
    return {"ok": True, "user": {
        "id": user_id, "team_id": ws.team_id, "name": profile["name"],
        "real_name": profile["real_name"], "is_bot": user_id == ws.bot_user_id,
        "profile": {"real_name": profile["real_name"], "title": profile["title"],
                    "display_name": profile["name"]},
    }}


def views_open(ws: SandboxSlack, args: JsonDict) -> JsonDict:
    """Open a modal for the person behind a fresh trigger id; the channel page shows it."""
    view = json_field(args.get("view"))
    if not isinstance(view, dict) or view.get("type") != "modal":
        return error("invalid_arguments")
    user, problem = ws.use_trigger(str(args.get("trigger_id") or ""))
    if user is None:
        return error(problem or "invalid_trigger_id")
    view_id = "V" + time.strftime("%H%M%S") + str(len(ws.views) + 1).zfill(3) + user[-3:]
    opened = {**view, "id": view_id, "team_id": ws.team_id, "state": {"values": {}},
              "hash": f"{int(time.time())}.{view_id}", "root_view_id": view_id,
              "app_id": "ASANDBOX", "bot_id": BOT_ID,
              "private_metadata": view.get("private_metadata", ""),
              "callback_id": view.get("callback_id", "")}
    ws.views[view_id] = {"user": user, "view": opened}
    ws.notify({"type": "view_opened", "user": user, "view": opened})
    return {"ok": True, "view": opened}


METHODS = {
    "auth.test": auth_test, "chat.postMessage": post_message, "chat.update": update,
    "chat.postEphemeral": post_ephemeral, "conversations.replies": replies,
    "conversations.history": history, "users.info": users_info, "views.open": views_open,
    "assistant.threads.setStatus": set_status, **ASSISTANT_METHODS, **FILE_METHODS,
}


async def _arguments(request: Request) -> JsonDict | None:
    """Query, JSON and form arguments merged (slack-sdk uses all three); None: bad JSON."""
    args: JsonDict = dict(request.query_params)
    body = await request.body()
    if body and "json" in request.headers.get("content-type", ""):
        try:
            parsed = json.loads(body)
        except ValueError:
            return None
        if not isinstance(parsed, dict):
            return None
        args.update(parsed)
    elif body:
        args.update(parse_qsl(body.decode(), keep_blank_values=True))
    return args


def _token(request: Request, args: JsonDict) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    token = args.pop("token", None)
    return str(token) if token else None


def _fault_response(fault: FaultSpec, code: str) -> JSONResponse:
    status = fault.status or (429 if code == "ratelimited" else 200)
    headers = {"Retry-After": "1"} if status == 429 else None
    return JSONResponse(error(code), status_code=status, headers=headers)


def build_slack_api(
    bot_token: str = "xoxb-sandbox-token", bot_user_id: str = "UBOT", team_id: str = "TSANDBOX",
    channel: ChannelSettings | None = None, client_id: str = "sandbox-client-id",
    client_secret: str = "sandbox-client-secret", app_token: str = "xapp-1-sandbox-app-token",
) -> FastAPI:
    """The stand-in; with `channel` settings it also serves the channel page at `/`.
    `client_id`/`client_secret` are the app credentials its OAuth install accepts."""
    app = FastAPI(title="SANDBOX Slack Web API stand-in", docs_url=None, redoc_url=None)
    ws = SandboxSlack(bot_token=bot_token, bot_user_id=bot_user_id, team_id=team_id)
    app.state.slack = ws
    install_channel(app, channel or ChannelSettings.disconnected())
    install_oauth(app, ws, SandboxOAuth(client_id, client_secret))  # before /api/{method}
    app.state.socket = SocketHub(app_token)
    install_socket_mode(app, app.state.socket)  # before /api/{method} too
    install_files(app, ws)

    @app.api_route("/api/{method}", methods=["GET", "POST"])
    async def web_api(method: str, request: Request) -> JSONResponse:
        args = await _arguments(request)
        ws.base_url = str(request.base_url)  # where upload URLs must point
        if args is None:
            return JSONResponse(error("invalid_json"))
        token = _token(request, args)
        team = ws.team_of(token) if token else None
        # `team`: whose token made the call (the token itself is not kept).
        call: JsonDict = {"method": method, "args": args, "at": time.time(), "team": team}
        ws.calls.append(call)
        fault = ws.take_fault(method)
        if fault is not None:
            await asyncio.sleep(fault.delay_s)
            if fault.error is not None:
                call["result"] = fault.error
                return _fault_response(fault, fault.error)
        if not token:
            result = error("not_authed")
        elif team is None:
            result = error("invalid_auth")
        elif ws.expired(token):
            result = error("token_expired")
        elif method not in METHODS:
            result = error("unknown_method")
        elif method == "chat.postMessage" and not ws.may_post(token, str(args.get("channel"))):
            result = error("not_in_channel")
        elif method == "chat.postMessage" and ws.over_post_limit(str(args.get("channel"))):
            call["result"] = "ratelimited"
            return _fault_response(FaultSpec(method=method), "ratelimited")
        else:
            result = METHODS[method](ws, args)
        call["result"] = "ok" if result["ok"] else result["error"]
        return JSONResponse(result)

    @app.get("/sandbox/messages")
    async def messages(channel: str | None = None) -> list[JsonDict]:
        return [m for m in ws.messages if channel is None or m["channel"] == channel]

    @app.get("/sandbox/calls")
    async def calls() -> list[JsonDict]:
        return ws.calls

    @app.post("/sandbox/faults")
    async def add_fault(fault: FaultSpec) -> JsonDict:
        ws.faults.append(fault)
        return {"ok": True, "pending": [f.model_dump() for f in ws.faults]}

    @app.delete("/sandbox/faults")
    async def clear_faults() -> JsonDict:
        """Ends every injected fault at once (a fault suite's outage ends on its schedule)."""
        ws.faults.clear()
        return {"ok": True, "pending": []}

    @app.get("/sandbox/health")
    async def health() -> JsonDict:
        return {"status": "ok", "sandbox": True}

    return app
