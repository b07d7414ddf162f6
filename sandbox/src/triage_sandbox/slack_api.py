"""A Slack Web API stand-in, so the notifier's real slack-sdk client runs unchanged on one
machine and in tests: same URLs (`/api/<method>`), same JSON shapes, same errors (HTTP 200
with `ok: false`, 429 with Retry-After when rate limited).

It keeps messages in memory, logs every call, can be told to fail (`POST /sandbox/faults`),
and lets a browser page follow the channel through `app.state.slack.subscribe()`.
"""

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

JsonDict = dict[str, Any]
BOT_ID = "BSANDBOX"
DEMO_USERS: dict[str, JsonDict] = {
    "U_REQUESTER": {"name": "riley", "real_name": "Riley Requester", "title": "Developer"},
    "U_APPROVER": {"name": "alex", "real_name": "Alex Approver", "title": "SRE"},
    "U_LEAD": {"name": "lee", "real_name": "Lee Lead", "title": "Engineering lead"},
}
_TRUE = {"1", "true", "yes"}


class FaultSpec(BaseModel):
    method: str
    error: str = "ratelimited"
    times: int = Field(1, ge=1)
    # None: 429 for `ratelimited`, 200 (Slack's way of failing) for everything else.
    status: int | None = None


@dataclass
class SandboxSlack:
    """The in-memory workspace: messages, call log, pending faults, live subscribers."""

    bot_token: str
    bot_user_id: str
    team_id: str
    messages: list[JsonDict] = field(default_factory=list)
    calls: list[JsonDict] = field(default_factory=list)
    faults: list[FaultSpec] = field(default_factory=list)
    _subscribers: list[asyncio.Queue[JsonDict]] = field(default_factory=list)
    _last_us: int = 0

    def subscribe(self) -> asyncio.Queue[JsonDict]:
        """A queue receiving `{"type": "message"|"message_changed", "message": {...}}`."""
        queue: asyncio.Queue[JsonDict] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[JsonDict]) -> None:
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    def next_ts(self) -> str:
        # Slack ts are "seconds.micros" strings, unique and increasing within a channel.
        self._last_us = max(int(time.time() * 1_000_000), self._last_us + 100)
        return f"{self._last_us // 1_000_000}.{self._last_us % 1_000_000:06d}"

    def take_fault(self, method: str) -> FaultSpec | None:
        for fault in self.faults:
            if fault.method == method:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _broadcast(self, kind: str, message: JsonDict) -> None:
        for queue in self._subscribers:
            queue.put_nowait({"type": kind, "message": dict(message)})

    def find(self, channel: str, ts: str) -> JsonDict | None:
        return next((m for m in self.messages if m["channel"] == channel and m["ts"] == ts), None)

    def add(self, message: JsonDict) -> JsonDict:
        self.messages.append(message)
        self._broadcast("message", message)
        return message

    def changed(self, message: JsonDict) -> None:
        self._broadcast("message_changed", message)


def _json_field(value: Any) -> Any:
    """Form-encoded calls carry blocks/metadata as JSON strings; JSON calls as objects."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _public(message: JsonDict, with_metadata: bool = True) -> JsonDict:
    """A message as the Web API returns it (without the sandbox's bookkeeping)."""
    hidden = {"channel", "edits", "ephemeral_to"} | (set() if with_metadata else {"metadata"})
    return {k: v for k, v in message.items() if k not in hidden and v is not None}


def _error(error: str) -> JsonDict:
    return {"ok": False, "error": error}


def auth_test(ws: SandboxSlack, _: JsonDict) -> JsonDict:
    return {"ok": True, "url": "https://sandbox.slack.invalid/", "team": "Sandbox",
            "user": "triage", "team_id": ws.team_id, "user_id": ws.bot_user_id,
            "bot_id": BOT_ID, "is_enterprise_install": False}


def post_message(ws: SandboxSlack, args: JsonDict) -> JsonDict:
    channel, text, blocks = args.get("channel"), args.get("text"), _json_field(args.get("blocks"))
    if not channel:
        return _error("channel_not_found")
    if not text and not blocks:
        return _error("no_text")
    message = ws.add({
        "type": "message", "channel": channel, "ts": ws.next_ts(), "user": ws.bot_user_id,
        "bot_id": BOT_ID, "team": ws.team_id, "text": text or "", "blocks": blocks or [],
        "thread_ts": args.get("thread_ts") or None, "metadata": _json_field(args.get("metadata")),
        "edits": [],
    })
    return {"ok": True, "channel": channel, "ts": message["ts"], "message": _public(message)}


def update(ws: SandboxSlack, args: JsonDict) -> JsonDict:
    message = ws.find(str(args.get("channel")), str(args.get("ts")))
    if message is None:
        return _error("message_not_found")
    message["edits"].append({"text": message["text"], "blocks": message["blocks"],
                             "replaced_at": ws.next_ts()})
    if args.get("text") is not None:
        message["text"] = args["text"]
    if args.get("blocks") is not None:
        message["blocks"] = _json_field(args["blocks"])
    message["edited"] = {"user": ws.bot_user_id, "ts": message["edits"][-1]["replaced_at"]}
    ws.changed(message)
    return {"ok": True, "channel": message["channel"], "ts": message["ts"],
            "text": message["text"], "message": _public(message)}


def post_ephemeral(ws: SandboxSlack, args: JsonDict) -> JsonDict:
    if not args.get("channel") or not args.get("user"):
        return _error("channel_not_found" if not args.get("channel") else "user_not_found")
    message = ws.add({
        "type": "message", "channel": args["channel"], "ts": ws.next_ts(),
        "user": ws.bot_user_id, "bot_id": BOT_ID, "text": args.get("text") or "",
        "blocks": _json_field(args.get("blocks")) or [], "thread_ts": args.get("thread_ts"),
        "ephemeral_to": args["user"], "edits": [],
    })
    return {"ok": True, "message_ts": message["ts"]}


def _listing(messages: list[JsonDict], args: JsonDict) -> JsonDict:
    with_metadata = str(args.get("include_all_metadata", "")).lower() in _TRUE
    limit = int(args.get("limit") or 100)
    return {"ok": True, "messages": [_public(m, with_metadata) for m in messages[:limit]],
            "has_more": len(messages) > limit}


def replies(ws: SandboxSlack, args: JsonDict) -> JsonDict:
    channel, thread = args.get("channel"), args.get("ts")
    if not channel or not thread:
        return _error("invalid_arguments")
    # Unknown threads answer an empty list: the asking message lives only in real Slack.
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
        profile = DEMO_USERS[user_id]
    else:
        return _error("user_not_found")
    return {"ok": True, "user": {
        "id": user_id, "team_id": ws.team_id, "name": profile["name"],
        "real_name": profile["real_name"], "is_bot": user_id == ws.bot_user_id,
        "profile": {"real_name": profile["real_name"], "title": profile["title"],
                    "display_name": profile["name"]},
    }}


METHODS = {
    "auth.test": auth_test, "chat.postMessage": post_message, "chat.update": update,
    "chat.postEphemeral": post_ephemeral, "conversations.replies": replies,
    "conversations.history": history, "users.info": users_info,
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


def _fault_response(fault: FaultSpec) -> JSONResponse:
    status = fault.status or (429 if fault.error == "ratelimited" else 200)
    headers = {"Retry-After": "1"} if status == 429 else None
    return JSONResponse(_error(fault.error), status_code=status, headers=headers)


def build_slack_api(
    bot_token: str = "xoxb-sandbox-token", bot_user_id: str = "UBOT", team_id: str = "TSANDBOX"
) -> FastAPI:
    app = FastAPI(title="SANDBOX Slack Web API stand-in", docs_url=None, redoc_url=None)
    ws = SandboxSlack(bot_token=bot_token, bot_user_id=bot_user_id, team_id=team_id)
    app.state.slack = ws

    @app.api_route("/api/{method}", methods=["GET", "POST"])
    async def web_api(method: str, request: Request) -> JSONResponse:
        args = await _arguments(request)
        if args is None:
            return JSONResponse(_error("invalid_json"))
        token = _token(request, args)
        call: JsonDict = {"method": method, "args": args, "at": time.time()}
        ws.calls.append(call)
        fault = ws.take_fault(method)
        if fault is not None:
            call["result"] = fault.error
            return _fault_response(fault)
        if not token:
            result = _error("not_authed")
        elif token != ws.bot_token:
            result = _error("invalid_auth")
        elif method not in METHODS:
            result = _error("unknown_method")
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

    @app.get("/sandbox/health")
    async def health() -> JsonDict:
        return {"status": "ok", "sandbox": True}

    return app
