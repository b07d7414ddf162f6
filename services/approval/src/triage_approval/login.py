"""Signing in and out.

OpenID Connect (authlib's Starlette client): the authorization code flow with PKCE (S256),
state and nonce kept in the signed session; the ID token is verified against the
provider's JWKS (signature, issuer = OIDC_ISSUER, audience = the client id, expiry, nonce)
before anything in it is believed. The person is the configured user claim (Sign in with
Slack: `https://slack.com/user_id`) and their team the team claim
(`https://slack.com/team_id`). The redirect URI is built from PUBLIC_URL, never from the
request's Host header.

`GET /auth/session` tells a script or page who it is and its CSRF token. The sandbox's
'act as' (DEV_IDENTITY only) signs in as any user, and says so in every log line.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
from authlib.common.errors import AuthlibBaseError  # type: ignore[import-untyped]
from authlib.integrations.starlette_client import OAuth  # type: ignore[import-untyped]
from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from joserfc.errors import JoseError
from triage_contracts.errors import ErrorCode, TemporaryError
from triage_contracts.logs import get_logger

from . import sessions
from .deps import SettingsDep, ViewerDep
from .pages import SECURITY_HEADERS, render, sign_in
from .principal import Principal, Via, dev_user, from_claims
from .rules import DecisionRefused, NotAuthenticated
from .settings import Settings
from .views import SessionView

router = APIRouter(include_in_schema=False)
log = get_logger("triage.approval.login")


def oidc_client(settings: Settings) -> Any | None:
    """authlib's client of the configured provider (no I/O: discovery is lazy)."""
    if not settings.oidc_enabled:
        return None
    secret = settings.oidc_client_secret
    return OAuth().register(
        "idp", client_id=settings.oidc_client_id,
        client_secret=secret.get_secret_value() if secret is not None else None,
        server_metadata_url=settings.oidc_discovery_url,
        client_kwargs={"scope": settings.oidc_scopes, "code_challenge_method": "S256",
                       "token_endpoint_auth_method": settings.oidc_token_auth_method,
                       "timeout": 10.0})


@router.get("/auth/login")
async def login(request: Request, settings: SettingsDep, next: str = "/") -> Response:
    client = request.app.state.oidc
    if client is None:
        return await sign_in(request, settings, error="OIDC login is not configured here")
    sessions.remember_next(request, next)
    async with _provider():
        redirect: Response = await client.authorize_redirect(request, _callback_url(settings))
    return redirect


@router.get("/auth/callback")
async def callback(request: Request, settings: SettingsDep) -> Response:
    client = request.app.state.oidc
    if client is None:
        return await sign_in(request, settings, error="OIDC login is not configured here")
    try:
        async with _provider():
            token = await client.authorize_access_token(
                request, claims_options={"iss": {"essential": True,
                                                 "value": settings.oidc_issuer}})
        principal = _person(token.get("userinfo"), settings)
    except (AuthlibBaseError, JoseError, DecisionRefused) as exc:
        log.info("sign-in refused", error=type(exc).__name__)
        return await sign_in(request, settings, error="sign-in failed: please try again")
    target = sessions.take_next(request)
    sessions.sign_in(request, principal)
    log.info("signed in", user=principal.user_id, via=principal.via.value)
    return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)


@router.post("/auth/logout")
async def logout(request: Request,
                 csrf_token: Annotated[str, Form(max_length=256)] = "") -> Response:
    sessions.check_csrf(request, csrf_token)
    sessions.sign_out(request)
    return RedirectResponse("/auth/signed-out", status_code=303, headers=SECURITY_HEADERS)


@router.get("/auth/signed-out")
async def signed_out(request: Request, settings: SettingsDep) -> Response:
    return await render(request, settings, None, "signin.html",
                        {"signed_out": True, "proxy": settings.proxy_enabled})


@router.get("/auth/session")
async def session(request: Request, viewer: ViewerDep) -> SessionView:
    """Who the caller is (nobody: nulls), the teams it may see, its CSRF token."""
    principal = viewer.principal if viewer is not None else None
    scope = viewer.scope if viewer is not None else None
    teams = ["*"] if scope is not None and scope.every else sorted(scope.teams if scope else [])
    return SessionView(user_id=principal.user_id if principal else None,
                       via=principal.via.value if principal else None, teams=teams,
                       csrf_token=sessions.csrf_token(request))


@router.post("/dev/act-as")
async def act_as(
    request: Request, settings: SettingsDep, user_id: Annotated[str, Form(max_length=128)],
    csrf_token: Annotated[str, Form(max_length=256)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=2000)] = "/",
) -> Response:
    """Sandbox only: choose who you are. Without DEV_IDENTITY this does not exist (404)."""
    if not settings.dev_identity:
        return Response(status_code=404)
    sessions.check_csrf(request, csrf_token)
    principal = Principal(dev_user(user_id.strip()), Via.DEV)
    sessions.sign_in(request, principal)
    log.warning("DEV IDENTITY: acting as a sandbox user", user=principal.user_id)
    return RedirectResponse(sessions.local_path(next_url), status_code=303)


def _person(claims: Any, settings: Settings) -> Principal:
    if not isinstance(claims, dict):  # no verified ID token: nothing to believe
        raise NotAuthenticated("the provider returned no ID token")
    return from_claims(claims, settings.user_id_claim, settings.team_id_claim, Via.OIDC)


def _callback_url(settings: Settings) -> str:
    return f"{settings.public_url.rstrip('/')}/auth/callback"


@asynccontextmanager
async def _provider() -> AsyncIterator[None]:
    """The provider being unreachable is a TemporaryError (503: try again)."""
    try:
        yield
    except httpx.HTTPError as exc:
        raise TemporaryError("the identity provider is unreachable",
                             ErrorCode.UPSTREAM_UNAVAILABLE) from exc
