"""JSON API: list and read approvals, decide. Every endpoint needs a verified caller and
answers only within the teams it may see (another team's approval is a 404, exactly like
a missing one). Refusals are PermanentErrors: the shared HTTP boundary answers them
`{"ok": false, "error": code, "reason": text}` with their status.

A person's POST must carry the session's CSRF token (`X-CSRF-Token`, from
`GET /auth/session`); the trusted service names the approver and the team instead.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from . import sessions
from .deps import ApprovalsDep, Caller, CallerDep, SettingsDep
from .principal import Scope
from .rules import Forbidden, Invalid
from .views import ApprovalList, ApprovalView, DecisionBody, view

router = APIRouter(prefix="/api", tags=["approvals"])
Status = Literal["pending", "approved", "rejected", "expired"]
TeamQuery = Annotated[str | None, Query(max_length=64, description="Only this team")]


@router.get("/approvals")
async def list_approvals(
    caller: CallerDep, approvals: ApprovalsDep, settings: SettingsDep,
    status: Annotated[Status | None, Query()] = None, team_id: TeamQuery = None,
) -> ApprovalList:
    rows = await approvals.store.by_status(status, caller.scope_for(team_id))
    return ApprovalList(approvals=[view(r, settings.public_url) for r in rows])


@router.get("/approvals/{approval_id}")
async def get_approval(
    approval_id: str, caller: CallerDep, approvals: ApprovalsDep, settings: SettingsDep,
    team_id: TeamQuery = None,
) -> ApprovalView:
    row = await approvals.visible(approval_id, caller.scope_for(team_id))
    return view(row, settings.public_url)


@router.post("/approvals/{approval_id}/decision")
async def post_decision(
    approval_id: str, body: DecisionBody, request: Request, caller: CallerDep,
    approvals: ApprovalsDep, settings: SettingsDep,
) -> ApprovalView:
    decider, scope = _decider(request, caller, body)
    principal = caller.principal
    via = "service" if principal.is_service else f"api:{principal.via.value}"
    row = await approvals.decide(approval_id, decider, body.decision, body.reason,
                                 via=via, scope=scope)
    return view(row, settings.public_url)


def _decider(request: Request, caller: Caller, body: DecisionBody) -> tuple[str, Scope]:
    """Who decides, within which teams: the person signed in, or the approver a trusted
    service names (the Slack user who clicked, in the team of the click)."""
    if caller.principal.is_service:
        if not body.approver_id or not body.approver_id.strip():
            raise Invalid("a trusted service must name the approver (approver_id)")
        return body.approver_id.strip(), caller.scope_for(body.team_id)
    if body.approver_id:
        raise Forbidden("approver_id may only be given by a trusted service (bearer token)")
    sessions.check_csrf(request, request.headers.get(sessions.CSRF_HEADER))
    return caller.principal.user_id, caller.scope_for(body.team_id)
