"""The browser session (Starlette's signed cookie, SESSION_SECRET): who signed in, and the
per-session CSRF token every state-changing request from a person must carry.

Signing in (OIDC callback, the sandbox's 'act as') starts a fresh session with a fresh
CSRF token, so nothing set before login survives it (session fixation). A POST is accepted
only with the token of the session it rides in: a form field `csrf_token`, or the
`X-CSRF-Token` header for the JSON API. Another site can make a browser send the cookie,
never read the token.
"""

import hmac
import secrets
from typing import Any

from starlette.requests import Request

from .principal import Principal, Via
from .rules import Forbidden

USER = "user"
CSRF = "csrf"
NEXT = "next"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def csrf_token(request: Request) -> str:
    """This session's CSRF token (created on first use)."""
    token = request.session.get(CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF] = token
    return token


def check_csrf(request: Request, presented: str | None) -> None:
    expected = request.session.get(CSRF)
    if not (isinstance(expected, str) and expected and presented
            and hmac.compare_digest(expected.encode(), presented.encode())):
        raise Forbidden("missing or invalid CSRF token: reload the page and try again")


def sign_in(request: Request, principal: Principal) -> None:
    request.session.clear()
    request.session[USER] = {"id": principal.user_id, "via": principal.via.value,
                             "teams": sorted(principal.teams)
                             if principal.teams is not None else None}
    csrf_token(request)


def sign_out(request: Request) -> None:
    request.session.clear()


def signed_in(request: Request, allowed: frozenset[Via]) -> Principal | None:
    """The person this session belongs to, if the way they signed in is still `allowed`
    (a sandbox session is worthless once DEV_IDENTITY is off, an OIDC one once OIDC is)."""
    user: Any = request.session.get(USER)
    if not isinstance(user, dict):
        return None
    try:
        via = Via(str(user.get("via")))
    except ValueError:
        return None
    if via not in allowed:
        return None
    teams = user.get("teams")
    return Principal(str(user.get("id", "")), via,
                     frozenset(teams) if isinstance(teams, list) else None)


def remember_next(request: Request, target: str) -> None:
    request.session[NEXT] = local_path(target)


def take_next(request: Request) -> str:
    return local_path(str(request.session.pop(NEXT, "/")))


def local_path(target: str) -> str:
    """Only a path on this site (never `//host` or a scheme): no open redirect."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
