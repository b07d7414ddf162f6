"""JSON API: list and read approvals, decide. Refusals are PermanentErrors: the shared
HTTP boundary answers them `{"ok": false, "error": code, "reason": text}` with their status."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from . import identity
from .deps import ApprovalsDep, SettingsDep
from .rules import NotFound
from .views import ApprovalList, ApprovalView, DecisionBody, view

router = APIRouter(prefix="/api", tags=["approvals"])
Status = Literal["pending", "approved", "rejected", "expired"]


@router.get("/approvals")
async def list_approvals(
    approvals: ApprovalsDep, settings: SettingsDep,
    status: Annotated[Status | None, Query()] = None,
) -> ApprovalList:
    rows = await approvals.store.by_status(status)
    return ApprovalList(approvals=[view(r, settings.public_url) for r in rows])


@router.get("/approvals/{approval_id}")
async def get_approval(
    approval_id: str, approvals: ApprovalsDep, settings: SettingsDep,
) -> ApprovalView:
    row = await approvals.store.get(approval_id)
    if row is None:
        raise NotFound(f"no approval {approval_id}")
    return view(row, settings.public_url)


@router.post("/approvals/{approval_id}/decision")
async def post_decision(
    approval_id: str, body: DecisionBody, request: Request, approvals: ApprovalsDep,
    settings: SettingsDep,
) -> ApprovalView:
    decider, via = identity.api_caller(request, settings, body.approver_id)
    row = await approvals.decide(approval_id, decider, body.decision, body.reason, via=via)
    return view(row, settings.public_url)
