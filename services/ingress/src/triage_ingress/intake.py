"""Handing a verified Slack request to the agent: publish it on EVENTS and wait for the
JetStream ack, then record it in the audit log.

The Slack event id is the Nats-Msg-Id, so a Slack retry (after a slow or failed answer)
is dropped by the stream's duplicate window instead of starting a second run.
"""

from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import Depends, Request
from faststream.nats import NatsBroker
from slack_sdk.signature import SignatureVerifier
from triage_contracts import subjects
from triage_contracts.audit import AuditEmitter
from triage_contracts.bus import publish
from triage_contracts.errors import ErrorCode, PermanentError
from triage_contracts.logs import get_logger
from triage_contracts.messages import AuditKind, TriageRequest
from triage_contracts.redact import redact_text

from .assistant_calls import AssistantCalls
from .queued import QueuedNotice
from .settings import Settings

log = get_logger("triage.ingress.intake")


@dataclass(frozen=True)
class Edge:
    """What the HTTP endpoints need, built once in `build_app`."""

    settings: Settings
    broker: NatsBroker
    audit: AuditEmitter
    verifier: SignatureVerifier | None  # None: no signing secret configured
    # Suggested prompts and thread titles (best effort); None: not offered.
    assistant: AssistantCalls | None = None
    # "Queued behind N questions" after publishing (queued.py); None: not told.
    queued: QueuedNotice | None = None


async def get_edge(request: Request) -> Edge:
    # async: FastAPI runs a plain `def` dependency in a worker thread, a hop per request.
    edge: Edge = request.app.state.edge
    return edge


EdgeDep = Annotated[Edge, Depends(get_edge)]


async def enqueue(edge: Edge, req: TriageRequest) -> bool:
    """Publish `req` durably; True if new, False if JetStream already had this event."""
    scope = edge.settings.team_scope
    if scope and req.team_id != scope:
        raise PermanentError("this workspace is not served here", ErrorCode.POLICY_DENIED)
    with structlog.contextvars.bound_contextvars(run_id=req.run_id, team_id=req.team_id):
        fresh = await publish(
            edge.broker, req, subjects.event(req.team_id, req.request_kind.value),
            msg_id=req.event_id, timeout=edge.settings.publish_timeout_s,
        )
        # Audited on every attempt (deduplicated by event id): if the first attempt failed
        # after publishing, the retry still records the request exactly once.
        await edge.audit.emit(
            req.team_id, req.run_id, AuditKind.REQUEST, f"slack.{req.request_kind.value}",
            actor=req.user_id, dedupe_key=req.event_id,
            detail={"event_id": req.event_id, "channel_id": req.channel_id,
                    "thread_ts": req.thread_ts, "text": _excerpt(req.text), "duplicate": not fresh},
        )
        log.info("request enqueued", event_id=req.event_id, kind=req.request_kind.value,
                 duplicate=not fresh)
        if fresh and edge.queued is not None:
            await edge.queued.tell(req)
    return fresh


def _excerpt(text: str, limit: int = 500) -> str:
    """Redact first, then cut: a secret crossing the cut must not survive as a fragment."""
    return redact_text(text)[:limit]
