"""`POST /slack/interactivity`: button clicks (`block_actions`) and modal submissions
(`view_submission`), form-encoded as `payload=<json>` and signed like every Slack request.

Slack wants an answer within 3 seconds, so a click is acknowledged at once and decided in
the background (the person hears back through `response_url`). A modal submission is
decided before answering, because only that answer can show a refusal inside the modal.
"""

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from triage_contracts import subjects
from triage_contracts.errors import ErrorCode

from .approval_buttons import (
    APPROVE_ACTION,
    REASON_BLOCK,
    REASON_INPUT,
    REJECT_ACTION,
    REJECT_CALLBACK,
    ApprovalButtons,
    Click,
)
from .boundary import RequestRejected
from .commands import parse_form
from .intake import Edge, EdgeDep
from .normalize import parse_json
from .verify import VerifiedBody

router = APIRouter()
ERROR_LIMIT = 150  # keep modal errors short enough to read under the input


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


def get_buttons(request: Request) -> ApprovalButtons:
    buttons: ApprovalButtons = request.app.state.approval_buttons
    return buttons


ButtonsDep = Annotated[ApprovalButtons, Depends(get_buttons)]


def parse_payload(body: bytes) -> dict[str, Any]:
    raw = parse_form(body).get("payload")
    if raw is None:
        raise RequestRejected(400, "missing form field payload")
    return parse_json(raw, "payload")


def _model[M: BaseModel](model: type[M], payload: dict[str, Any]) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"])
        raise RequestRejected(400, f"missing or invalid field {where}") from None


def _team(edge: Edge, team: _Team | None, user: _User) -> str:
    team_id = subjects.token(team.id if team else (user.team_id or ""))
    scope = edge.settings.team_scope
    if scope and team_id != scope:
        raise RequestRejected(403, "this workspace is not served here", ErrorCode.POLICY_DENIED)
    return team_id


def _run_hint(message: _Message | None) -> str | None:
    payload = ((message.metadata if message else None) or {}).get("event_payload") or {}
    run_id = payload.get("run_id")
    return run_id if isinstance(run_id, str) and run_id else None


@router.post("/slack/interactivity")
async def slack_interactivity(body: VerifiedBody, edge: EdgeDep, buttons: ButtonsDep,
                              tasks: BackgroundTasks) -> Response:
    payload = parse_payload(body)
    kind = payload.get("type")
    if kind == "block_actions":
        on_block_actions(_model(BlockActions, payload), edge, buttons, tasks)
    elif kind == "view_submission":
        return await on_view_submission(_model(ViewSubmission, payload), edge, buttons)
    return Response(status_code=200)  # anything else (shortcuts, view_closed): nothing to do


def on_block_actions(clicked: BlockActions, edge: Edge, buttons: ApprovalButtons,
                     tasks: BackgroundTasks) -> None:
    team_id = _team(edge, clicked.team, clicked.user)
    for action in clicked.actions:
        if action.action_id not in (APPROVE_ACTION, REJECT_ACTION) or not action.value:
            continue  # not ours (or a link button): Slack only needs the 200
        click = Click(team_id, clicked.user.id, action.value, clicked.response_url,
                      clicked.trigger_id, _run_hint(clicked.message))
        work = buttons.approve if action.action_id == APPROVE_ACTION else buttons.start_reject
        tasks.add_task(work, click)


async def on_view_submission(submitted: ViewSubmission, edge: Edge,
                             buttons: ApprovalButtons) -> Response:
    view = submitted.view
    if view.callback_id != REJECT_CALLBACK:
        return Response(status_code=200)
    team_id = _team(edge, submitted.team, submitted.user)
    meta = _metadata(view.private_metadata)
    click = Click(team_id, submitted.user.id, meta["approval_id"], meta.get("response_url"),
                  run_hint=meta.get("run_id"))
    problem = await buttons.decide(click, "reject", _reason(view.state))
    if problem is None:
        return Response(status_code=200)  # an empty 200 closes the modal
    return JSONResponse({"response_action": "errors",
                         "errors": {REASON_BLOCK: problem[:ERROR_LIMIT]}})


def _metadata(raw: str) -> dict[str, Any]:
    try:
        meta = json.loads(raw)
    except ValueError:
        meta = None
    if not isinstance(meta, dict) or not isinstance(meta.get("approval_id"), str):
        raise RequestRejected(400, "invalid view.private_metadata")
    return meta


def _reason(state: dict[str, Any]) -> str:
    entry = ((state.get("values") or {}).get(REASON_BLOCK) or {}).get(REASON_INPUT) or {}
    value = entry.get("value") if isinstance(entry, dict) else None
    return value if isinstance(value, str) else ""
