"""`GET /sandbox/stream`: the channel, live, as Server-Sent Events.

The first event is a snapshot of every message and open modal; after it, every new,
edited (`chat.update`) or deleted message and every opened or closed modal follows as it
happens, already rendered to HTML (`blockkit.py`), so the page needs no reload and no
Block Kit knowledge of its own.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Mapping

from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse

from .. import blockkit
from ..people import display_names
from ..slack_workspace import JsonDict, SandboxSlack

router = APIRouter()
PING_S = 10


def wire_message(message: JsonDict, names: Mapping[str, str]) -> JsonDict:
    user = str(message.get("user", ""))
    return {
        "ts": message["ts"], "channel": message["channel"],
        "thread_ts": message.get("thread_ts"), "user": user, "author": names.get(user, user),
        "bot": bool(message.get("bot_id")), "ephemeral_to": message.get("ephemeral_to"),
        "edited": bool(message.get("edited")), "text": message.get("text", ""),
        "streaming": bool(message.get("streaming")),
        "html": blockkit.message_html(message, names),
    }


def wire_view(user: str, view: JsonDict, names: Mapping[str, str]) -> JsonDict:
    def label(key: str, default: str) -> str:
        value = view.get(key)
        return str(value.get("text", default)) if isinstance(value, dict) else default

    return {"id": view.get("id"), "user": user, "title": label("title", "Modal"),
            "submit": label("submit", "Submit"), "close": label("close", "Cancel"),
            "html": blockkit.blocks(view.get("blocks"), names)}


def wire_event(event: JsonDict, names: Mapping[str, str]) -> JsonDict:
    if event["type"] == "status":
        return {key: event[key] for key in ("type", "channel", "thread_ts", "status")}
    if event["type"] in ("title", "suggested_prompts"):  # an assistant thread's dressing
        return dict(event)
    if "message" in event:
        return {"type": event["type"], "message": wire_message(event["message"], names)}
    if event["type"] == "view_opened":
        return {"type": "view_opened", "view": wire_view(event["user"], event["view"], names)}
    return {"type": event["type"], "view_id": event["view"]["id"], "user": event["user"]}


def snapshot(ws: SandboxSlack, names: Mapping[str, str]) -> JsonDict:
    return {"type": "snapshot",
            "messages": [wire_message(m, names) for m in ws.messages],
            "views": [wire_view(v["user"], v["view"], names) for v in ws.views.values()],
            "statuses": [{"channel": c, "thread_ts": t, "status": s}
                         for (c, t), s in ws.statuses.items()],
            "assistant": [{"channel": c, "thread_ts": t, **dressing}
                          for (c, t), dressing in ws.assistant_threads.items()]}


async def _events(ws: SandboxSlack, request: Request) -> AsyncIterator[dict[str, str]]:
    names = display_names(ws.bot_user_id)
    queue = ws.subscribe()  # before the snapshot: nothing falls between the two
    try:
        yield {"event": "snapshot", "data": json.dumps(snapshot(ws, names))}
        while not await request.is_disconnected():
            try:
                event = await asyncio.wait_for(queue.get(), timeout=1.0)
            except TimeoutError:
                continue
            yield {"event": "change", "data": json.dumps(wire_event(event, names))}
    finally:
        ws.unsubscribe(queue)


@router.get("/sandbox/stream")
async def stream(request: Request) -> EventSourceResponse:
    return EventSourceResponse(_events(request.app.state.slack, request), ping=PING_S)
