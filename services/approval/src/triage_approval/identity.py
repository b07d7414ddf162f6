"""Who is acting. In production the authenticating proxy (e.g. oauth2-proxy) sets
IDENTITY_HEADER and nothing else is trusted; the service must only be reachable through it.
The sandbox may pick the acting user from a cookie (DEV_IDENTITY, refused in production).
The Slack ingress, holding SERVICE_TOKEN, may name the approver who clicked a button."""

import hashlib
import hmac

from fastapi import Request

from .rules import Forbidden, NotAuthenticated
from .settings import Settings

DEV_COOKIE = "triage_dev_user"
_MAX_ID = 128


def person(request: Request, settings: Settings) -> str:
    """The signed-in user of a browser or API request ('' when nobody is signed in)."""
    value = request.headers.get(settings.identity_header, "").strip()
    if not value and settings.dev_identity:
        value = request.cookies.get(DEV_COOKIE, "").strip()
    return value[:_MAX_ID]


def api_caller(request: Request, settings: Settings, approver_id: str | None) -> tuple[str, str]:
    """(decider, via) of a JSON API call; only a trusted service may name the decider."""
    auth = request.headers.get("authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not _is_service_token(settings, token.strip()):
            raise NotAuthenticated("invalid service token")
        if approver_id:
            return approver_id.strip()[:_MAX_ID], "service"
    elif approver_id:
        raise Forbidden("approver_id may only be given by a trusted service (bearer token)")
    return person(request, settings), "api"


def _is_service_token(settings: Settings, token: str) -> bool:
    expected = settings.service_token
    if expected is None or not expected.get_secret_value():
        return False
    return hmac.compare_digest(expected.get_secret_value().encode(), token.encode())


def form_token(settings: Settings, user: str, approval_id: str) -> str:
    """A per-user, per-approval token in the decide form: another site cannot forge the
    POST even when the proxy's cookie rides along."""
    key = settings.approval_signing_key.get_secret_value().encode()
    return hmac.new(key, f"form\x1f{user}\x1f{approval_id}".encode(), hashlib.sha256).hexdigest()


def check_form_token(settings: Settings, user: str, approval_id: str, token: str) -> None:
    if not hmac.compare_digest(form_token(settings, user, approval_id), token):
        raise Forbidden("this form was not issued to you (reload the page and try again)")
