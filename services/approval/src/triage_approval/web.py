"""The approver's pages: the pending list and the detail page showing the exact effect of
an action, with its approve/reject form. Every page needs a verified person (else the
sign-in) and shows only approvals of the teams they may see; another team's approval is
the same 404 page as a missing one.

A decision POST must carry the session's CSRF token. A refused decision re-renders the
page with the reason and its status code; a recorded one redirects (303) back with a flash
message, so a reload never re-submits the form.
"""

from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from triage_contracts.ids import utcnow

from . import rules, sessions
from .deps import ApprovalsDep, Caller, SettingsDep, ViewerDep
from .pages import render, sign_in
from .settings import Settings
from .views import effect, view

router = APIRouter(include_in_schema=False)
FLASH = {
    "approved": "Approved. The signed decision goes to the agent; the action runs once.",
    "rejected": "Rejected. Nothing will be written.",
}


@router.get("/", response_class=HTMLResponse)
async def index(request: Request, approvals: ApprovalsDep, settings: SettingsDep,
                viewer: ViewerDep) -> Response:
    person = _person(viewer)
    if person is None:
        return await sign_in(request, settings)
    pending = await approvals.store.by_status("pending", person.scope_for(None))
    decided = await approvals.store.recent_decisions(person.scope_for(None))
    return await render(request, settings, person, "index.html", {
        "pending": [view(r, settings.public_url) for r in pending],
        "decided": [view(r, settings.public_url) for r in decided],
    }, requesters=[r.requester_id for r in pending])


@router.get("/approvals/{approval_id}", response_class=HTMLResponse)
async def detail(approval_id: str, request: Request, approvals: ApprovalsDep,
                 settings: SettingsDep, viewer: ViewerDep, flash: str = "") -> Response:
    person = _person(viewer)
    if person is None:
        return await sign_in(request, settings)
    return await _detail(request, approvals, settings, person, approval_id,
                         flash=FLASH.get(flash, ""))


@router.post("/approvals/{approval_id}/decide", response_class=HTMLResponse)
async def decide(
    approval_id: str, request: Request, approvals: ApprovalsDep, settings: SettingsDep,
    viewer: ViewerDep, decision: Annotated[str, Form(max_length=32)],
    reason: Annotated[str, Form(max_length=4000)] = "",
    csrf_token: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    person = _person(viewer)
    if person is None:
        return await sign_in(request, settings)
    try:
        sessions.check_csrf(request, csrf_token)
        row = await approvals.decide(approval_id, person.principal.user_id, decision, reason,
                                     via=f"web:{person.principal.via.value}",
                                     scope=person.scope_for(None))
    except rules.DecisionRefused as refused:
        return await _detail(request, approvals, settings, person, approval_id,
                             error=refused, reason=reason)
    return RedirectResponse(f"/approvals/{quote(approval_id)}?flash={row.status}",
                            status_code=303)


def _person(viewer: Caller | None) -> Caller | None:
    """The viewer if it is a person (the service token does not open pages)."""
    return None if viewer is None or viewer.principal.is_service else viewer


async def _detail(
    request: Request, approvals: ApprovalsDep, settings: Settings, person: Caller,
    approval_id: str, *, flash: str = "", error: rules.DecisionRefused | None = None,
    reason: str = "",
) -> Response:
    try:
        row = await approvals.visible(approval_id, person.scope_for(None))
    except rules.NotFound:
        return await render(request, settings, person, "missing.html",
                            {"approval_id": approval_id}, 404)
    item = view(row, settings.public_url)
    return await render(request, settings, person, "detail.html", {
        "item": item, "effect": effect(item.action), "flash": flash, "reason": reason,
        "error": error.reason if error else "",
        "expires_in": _expires_in(item.expires_at, utcnow()),
    }, error.status if error else 200, requesters=[item.requester_id])


def _expires_in(expires_at: datetime, now: datetime) -> str:
    seconds = int((expires_at - now).total_seconds())
    if seconds <= 0:
        return "overdue"
    if seconds < 120:
        return f"in {seconds} s"
    return f"in {seconds // 60} min" if seconds < 7200 else f"in {seconds // 3600} h"
