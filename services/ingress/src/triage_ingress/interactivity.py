"""`POST /slack/interactivity`: button clicks (`block_actions`) and modal submissions
(`view_submission`), form-encoded as `payload=<json>` and signed like every Slack request.

Slack wants an answer within 3 seconds, so a click is acknowledged at once and decided in
the background (the person hears back through `response_url`). A modal submission is
decided before answering, because only that answer can show a refusal inside the modal.
"""

import re
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from triage_contracts import subjects
from triage_contracts.errors import ErrorCode, PermanentError, first_location
from triage_contracts.logs import get_logger
from triage_contracts.messages import AuditKind
from triage_contracts.slack_actions import (
    REASON_BLOCK,
    REASON_INPUT,
    ActionId,
    CallbackId,
    RejectModalMetadata,
)

from .approval_buttons import ApprovalButtons, Click
from .commands import parse_form
from .intake import Edge, EdgeDep
from .normalize import parse_json
from .verify import VerifiedBody

router = APIRouter()
ERROR_LIMIT = 150  # keep modal errors short enough to read under the input
_RUN_ID = re.compile(r"^run-[A-Za-z0-9_-]{1,64}$")
log = get_logger("triage.ingress.interactivity")
# Runs work after the answer (FastAPI's BackgroundTasks.add_task, or an asyncio task).
Later = Callable[[Callable[[], Awaitable[None]]], None]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _User(_Model):
    id: str
    team_id: str | None = None


class _Team(_Model):
    id: str


class _Action(_Model):
    action_id: str
    value: str = ""


class _Message(_Model):
    metadata: dict[str, Any] | None = None


class BlockActions(_Model):
    type: Literal["block_actions"]
    user: _User
    team: _Team | None = None
    enterprise: _Team | None = None  # Enterprise Grid: {"id": "E…"}
    trigger_id: str = ""
    response_url: str | None = None
    actions: list[_Action] = Field(default_factory=list)
    message: _Message | None = None


class _View(_Model):
    callback_id: str = ""
    private_metadata: str = ""
    state: dict[str, Any] = Field(default_factory=dict)


class ViewSubmission(_Model):
    type: Literal["view_submission"]
    user: _User
    team: _Team | None = None
    view: _View


async def get_buttons(request: Request) -> ApprovalButtons:
    buttons: ApprovalButtons = request.app.state.approval_buttons
    return buttons


ButtonsDep = Annotated[ApprovalButtons, Depends(get_buttons)]


def parse_payload(body: bytes) -> dict[str, Any]:
    raw = parse_form(body).get("payload")
    if raw is None:
        raise PermanentError("missing form field payload", ErrorCode.BAD_REQUEST)
    return parse_json(raw, "payload")


def _model[M: BaseModel](model: type[M], payload: dict[str, Any]) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        where = first_location(exc)
        raise PermanentError(f"missing or invalid field {where}", ErrorCode.BAD_REQUEST) from None


def _team(edge: Edge, team: _Team | None, user: _User) -> str:
    team_id = subjects.token(team.id if team else (user.team_id or ""))
    scope = edge.settings.team_scope
    if scope and team_id != scope:
        raise PermanentError("this workspace is not served here", ErrorCode.POLICY_DENIED)
    return team_id


def _run_hint(message: _Message | None) -> str | None:
    payload = ((message.metadata if message else None) or {}).get("event_payload") or {}
    run_id = payload.get("run_id")
    return run_id if isinstance(run_id, str) and run_id else None


@router.post("/slack/interactivity")
async def slack_interactivity(body: VerifiedBody, edge: EdgeDep, buttons: ButtonsDep,
                              tasks: BackgroundTasks) -> Response:
    answer = await on_interaction(parse_payload(body), edge, buttons, tasks.add_task)
    return Response(status_code=200) if answer is None else JSONResponse(answer)


async def on_interaction(payload: dict[str, Any], edge: Edge, buttons: ApprovalButtons,
                         later: Later) -> dict[str, Any] | None:
    """One interaction, from HTTP or Socket Mode: the body to answer with (None: empty).
    Clicks are decided `later` (after the answer: Slack wants it within 3 seconds)."""
    kind = payload.get("type")
    if kind == "block_actions":
        on_block_actions(_model(BlockActions, payload), edge, buttons, later)
    elif kind == "view_submission":
        return await on_view_submission(_model(ViewSubmission, payload), edge, buttons)
    return None  # anything else (shortcuts, view_closed): nothing to do


def on_block_actions(clicked: BlockActions, edge: Edge, buttons: ApprovalButtons,
                     later: Later) -> None:
    team_id = _team(edge, clicked.team, clicked.user)
    for action in clicked.actions:
        if action.action_id in FEEDBACK and action.value:
            later(partial(record_feedback, edge, buttons, team_id, clicked.user.id,
                          action.value, action.action_id == ActionId.FEEDBACK_GOOD,
                          clicked.response_url))
            continue
        if action.action_id not in (ActionId.APPROVE, ActionId.REJECT) or not action.value:
            continue  # not ours (or a link button): Slack only needs the 200
        click = Click(team_id, clicked.user.id, action.value, clicked.response_url,
                      clicked.trigger_id, _run_hint(clicked.message),
                      clicked.enterprise.id if clicked.enterprise else None)
        approve = action.action_id == ActionId.APPROVE
        work = buttons.approve if approve else buttons.start_reject
        later(partial(work, click))


async def on_view_submission(submitted: ViewSubmission, edge: Edge,
                             buttons: ApprovalButtons) -> dict[str, Any] | None:
    view = submitted.view
    if view.callback_id != CallbackId.REJECT_MODAL:
        return None
    team_id = _team(edge, submitted.team, submitted.user)
    meta = _metadata(view.private_metadata)
    click = Click(team_id, submitted.user.id, meta.approval_id, meta.response_url,
                  run_hint=meta.run_id)
    problem = await buttons.decide(click, "reject", _reason(view.state))
    if problem is None:
        return None  # an empty answer closes the modal
    return {"response_action": "errors", "errors": {REASON_BLOCK: problem[:ERROR_LIMIT]}}


FEEDBACK = (ActionId.FEEDBACK_GOOD, ActionId.FEEDBACK_BAD)
THANKS = "Thanks: your rating is kept with this answer's run, for the people improving me."


async def record_feedback(edge: Edge, buttons: ApprovalButtons, team_id: str, user_id: str,
                          run_id: str, good: bool, response_url: str | None) -> None:
    """A rating under an answer, audited with its run (one per person, rating and run:
    a double click counts once); the person is thanked privately."""
    if not _RUN_ID.match(run_id):
        log.warning("feedback on a value that is no run id ignored")
        return
    verdict = "good" if good else "bad"
    await edge.audit.emit(team_id, run_id, AuditKind.FEEDBACK, f"feedback.{verdict}",
                          actor=user_id, dedupe_key=f"{run_id}:{user_id}:feedback:{verdict}",
                          detail={"rating": verdict})
    if response_url:
        await buttons.slack.tell(response_url, THANKS)


def _metadata(raw: str) -> RejectModalMetadata:
    try:
        return RejectModalMetadata.model_validate_json(raw)
    except ValidationError:
        raise PermanentError("invalid view.private_metadata", ErrorCode.BAD_REQUEST) from None


def _reason(state: dict[str, Any]) -> str:
    entry = ((state.get("values") or {}).get(REASON_BLOCK) or {}).get(REASON_INPUT) or {}
    value = entry.get("value") if isinstance(entry, dict) else None
    return value if isinstance(value, str) else ""
