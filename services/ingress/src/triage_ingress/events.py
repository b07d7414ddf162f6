"""`POST /slack/events`: the Events API endpoint (mentions, thread follow-ups, direct
messages, and the app's own uninstall and token revocation).

Answers 200 only once the request is safely in JetStream; a failed publish answers 503 so
Slack retries, and the retry is deduplicated by its event id.
"""

from typing import Any

from fastapi import APIRouter, Header, Request
from triage_contracts.errors import ErrorCode, PermanentError
from triage_contracts.logs import get_logger

from . import assistant, lifecycle
from .installations import Stores
from .intake import Edge, EdgeDep, enqueue
from .normalize import Ignored, from_event_callback, parse_json, team_of
from .verify import VerifiedBody

router = APIRouter()
log = get_logger("triage.ingress.events")


@router.post("/slack/events")
async def slack_events(
    http: Request,
    body: VerifiedBody,
    edge: EdgeDep,
    x_slack_retry_num: str | None = Header(None),
) -> dict[str, Any]:
    return await on_event_payload(edge, http.app.state.stores, parse_json(body),
                                  x_slack_retry_num)


async def on_event_payload(edge: Edge, stores: Stores | None, payload: dict[str, Any],
                           retry_num: str | None = None) -> dict[str, Any]:
    """One Events API payload, from HTTP or Socket Mode (the same checks either way)."""
    kind = payload.get("type")
    if kind == "url_verification":
        challenge = payload.get("challenge")
        if not isinstance(challenge, str):
            raise PermanentError("missing or invalid field challenge", ErrorCode.BAD_REQUEST)
        return {"challenge": challenge}
    if kind != "event_callback":
        return {"ok": True, "ignored": f"callback type {kind!r}"}
    event = payload.get("event")
    if isinstance(event, dict) and event.get("type") in lifecycle.EVENTS:
        return await lifecycle.handle(edge, stores, payload,
                                      team_of(payload))
    if isinstance(event, dict) and event.get("type") in assistant.EVENTS:
        return _thread_opened(edge, payload)
    request = from_event_callback(payload)
    if isinstance(request, Ignored):
        return {"ok": True, "ignored": request.reason}
    fresh = await enqueue(edge, request)
    titled = assistant.asked(request) if fresh else None
    if titled is not None and edge.assistant is not None:  # a question in an assistant thread
        edge.assistant.title(*titled)
    if retry_num:
        log.info("slack retry", retry_num=retry_num, duplicate=not fresh)
    return {"ok": True}


def _thread_opened(edge: Edge, payload: dict[str, Any]) -> dict[str, Any]:
    """Suggested prompts for an assistant thread: never a run, and never an error."""
    thread = assistant.opened(payload, team_of(payload))
    scope = edge.settings.team_scope
    if thread is None or edge.assistant is None or (scope and thread.team_id != scope):
        return {"ok": True, "ignored": "no assistant thread to dress here"}
    edge.assistant.suggest(thread)
    return {"ok": True}
