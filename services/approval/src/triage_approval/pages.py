"""Rendering the server-side pages (Jinja2, autoescaped, no JavaScript) with what every
page shows: who is signed in, the CSRF token of their forms, the sandbox banner and its
'act as' choices. A visitor nobody vouches for gets the sign-in: a redirect to the OIDC
login when it is configured, otherwise a 401 page saying how to sign in.
"""

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from . import rules, sessions
from .deps import Caller
from .directory import Directory
from .settings import Settings
from .views import safe_link, text_content

templates = Jinja2Templates(env=Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True))
templates.env.filters["stamp"] = rules.stamp
templates.env.filters["safe_link"] = safe_link
templates.env.filters["text"] = text_content
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",  # an approve button must never be clickjacked
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages show who approves what: never cache them
}


async def render(request: Request, settings: Settings, viewer: Caller | None, name: str,
                 context: dict[str, Any], status: int = 200,
                 requesters: list[str] | None = None) -> Response:
    principal = viewer.principal if viewer is not None else None
    base = {"user": principal.user_id if principal else "",
            "via": principal.via.value if principal else "",
            "sandbox": settings.dev_identity, "oidc": settings.oidc_enabled,
            "path": request.url.path, "csrf_token": sessions.csrf_token(request),
            "people": await _people(request, settings, requesters or [])}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status,
                                      headers=SECURITY_HEADERS)


async def sign_in(request: Request, settings: Settings, error: str = "",
                  status: int = 401) -> Response:
    """What a visitor without a verified identity gets instead of a page."""
    if settings.oidc_enabled and not error:
        # After the login, come back to the page (a form's POST target is not one).
        path = request.url.path if request.method == "GET" else \
            request.url.path.removesuffix("/decide")
        target = quote(sessions.local_path(path), safe="/")
        return RedirectResponse(f"/auth/login?next={target}", status_code=303,
                                headers=SECURITY_HEADERS)
    return await render(request, settings, None, "signin.html",
                        {"error": error, "proxy": settings.proxy_enabled}, status)


async def _people(request: Request, settings: Settings, requesters: list[str]) -> list[str]:
    """Who the sandbox lets you act as: the approvers, plus requesters (to try four-eyes)."""
    if not settings.dev_identity:
        return []
    directory: Directory = request.app.state.directory
    return sorted({*await directory.everyone(), *(p for p in requesters if p)})
