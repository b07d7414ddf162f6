"""Server-rendered pages (Jinja2, autoescaped, no JavaScript): the pending list and the
detail page showing the exact effect of an action, with its approve/reject form.

A refused decision re-renders the page with the reason and its status code; a recorded one
redirects (303) back with a flash message, so a reload never re-submits the form.
"""

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from triage_contracts.ids import utcnow

from . import identity, rules
from .deps import ApprovalsDep, SettingsDep
from .settings import Settings
from .views import effect, safe_link, text_content, view

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(env=Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True))
templates.env.filters["stamp"] = rules.stamp
templates.env.filters["safe_link"] = safe_link
templates.env.filters["text"] = text_content
FLASH = {
    "approved": "Approved. The signed decision goes to the agent; the action runs once.",
    "rejected": "Rejected. Nothing will be written.",
}
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",  # an approve button must never be clickjacked
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@router.get("/", response_class=HTMLResponse)
async def index(request: Request, approvals: ApprovalsDep, settings: SettingsDep) -> Response:
    pending = await approvals.store.by_status("pending")
    decided = await approvals.store.recent_decisions()
    return _page(request, settings, "index.html", {
        "pending": [view(r, settings.public_url) for r in pending],
        "decided": [view(r, settings.public_url) for r in decided],
    }, requesters=[r.requester_id for r in pending])


@router.get("/approvals/{approval_id}", response_class=HTMLResponse)
async def detail(
    approval_id: str, request: Request, approvals: ApprovalsDep, settings: SettingsDep,
    flash: str = "",
) -> Response:
    return await _detail(request, approvals, settings, approval_id, flash=FLASH.get(flash, ""))


@router.post("/approvals/{approval_id}/decide", response_class=HTMLResponse)
async def decide(
    approval_id: str, request: Request, approvals: ApprovalsDep, settings: SettingsDep,
    decision: Annotated[str, Form()], reason: Annotated[str, Form()] = "",
    form_token: Annotated[str, Form()] = "",
) -> Response:
    user = identity.person(request, settings)
    try:
        if not user:
            raise rules.NotAuthenticated("sign in to decide")
        identity.check_form_token(settings, user, approval_id, form_token)
        row = await approvals.decide(approval_id, user, decision, reason, via="web")
    except rules.DecisionRefused as refused:
        return await _detail(request, approvals, settings, approval_id, error=refused,
                             reason=reason)
    return RedirectResponse(f"/approvals/{quote(approval_id)}?flash={row.status}",
                            status_code=303)


@router.post("/dev/act-as")
async def act_as(
    request: Request, settings: SettingsDep, user_id: Annotated[str, Form()],
    next_url: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    """Sandbox only: choose who you are. Production never mounts this (404)."""
    if not settings.dev_identity:
        return Response(status_code=404)
    target = next_url if next_url.startswith("/") and not next_url.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(identity.DEV_COOKIE, user_id.strip()[:128], httponly=True,
                        samesite="strict")
    return response


async def _detail(
    request: Request, approvals: ApprovalsDep, settings: Settings, approval_id: str, *,
    flash: str = "", error: rules.DecisionRefused | None = None, reason: str = "",
) -> Response:
    row = await approvals.store.get(approval_id)
    if row is None:
        return _page(request, settings, "missing.html", {"approval_id": approval_id}, 404)
    user = identity.person(request, settings)
    item = view(row, settings.public_url)
    return _page(request, settings, "detail.html", {
        "item": item, "effect": effect(item.action), "flash": flash, "reason": reason,
        "error": error.reason if error else "",
        "form_token": identity.form_token(settings, user, approval_id) if user else "",
        "expires_in": _expires_in(item.expires_at, utcnow()),
    }, error.status if error else 200, requesters=[item.requester_id])


def _page(request: Request, settings: Settings, name: str, context: dict[str, Any],
          status: int = 200, requesters: list[str] | None = None) -> Response:
    user = identity.person(request, settings)
    base = {"user": user, "sandbox": settings.dev_identity, "path": request.url.path,
            "people": _people(settings, [user, *(requesters or [])])}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status,
                                      headers=SECURITY_HEADERS)


def _people(settings: Settings, others: list[str]) -> list[str]:
    """Who the sandbox lets you act as: the approvers, plus requesters (to see four-eyes)."""
    if not settings.dev_identity:
        return []
    return sorted({*settings.all_approvers(), *(p for p in others if p)})


def _expires_in(expires_at: datetime, now: datetime) -> str:
    seconds = int((expires_at - now).total_seconds())
    if seconds <= 0:
        return "overdue"
    if seconds < 120:
        return f"in {seconds} s"
    return f"in {seconds // 60} min" if seconds < 7200 else f"in {seconds // 3600} h"
