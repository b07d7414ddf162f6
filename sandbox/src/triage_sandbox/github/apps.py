"""GitHub Apps on the stand-in, as GitHub authenticates them: the App signs a short JWT (RS256,
`iss` = the App id, at most 10 minutes long) with its private key; with it, `GET /app` says
who the App is and `POST /app/installations/{id}/access_tokens` mints an installation token
(`ghs_…`, one hour) that then authenticates like any token, as `<slug>[bot]`, counted
against the installation's own quota, not the token's. An expired token is refused with
"Bad credentials"; a JWT is good only for these two routes.
"""

import secrets
import time
from datetime import UTC, datetime
from typing import Any

import jwt
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .app_model import App, Apps, Minted, quota_key
from .state import GitHubError, SandboxState, base

__all__ = ["App", "router"]
MAX_JWT_S = 600  # GitHub refuses an `exp` more than 10 minutes after `iat`


def _verified(apps: Apps, request: Request) -> App:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise GitHubError(401, "A JSON web token could not be decoded")
    try:
        claimed = jwt.decode(token, options={"verify_signature": False})
        app = apps.registered.get(int(claimed.get("iss", 0)))
        if app is None:
            raise GitHubError(401, "Integration not found")
        claims = jwt.decode(token, app.public_key_pem, algorithms=["RS256"],
                            options={"require": ["iat", "exp", "iss"]}, leeway=60)
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise GitHubError(401, f"A JSON web token could not be decoded ({exc})") from exc
    if claims["exp"] - claims["iat"] > MAX_JWT_S + 60:
        raise GitHubError(401, "'Expiration time' claim ('exp') is too far in the future")
    return app


def router(state: SandboxState) -> APIRouter:
    routes = APIRouter()

    @routes.get("/app")
    async def the_app(request: Request) -> Any:
        app = _verified(state.apps, request)
        return {"id": app.app_id, "slug": app.slug, "name": app.slug,
                "owner": {"login": "demo-org", "type": "Organization"},
                "html_url": f"{base(request)}/apps/{app.slug}"}

    @routes.post("/app/installations/{installation_id}/access_tokens")
    async def access_token(installation_id: int, request: Request) -> Any:
        app = _verified(state.apps, request)
        if installation_id not in app.installations:
            raise GitHubError(404, "Not Found")
        token = "ghs_" + secrets.token_urlsafe(27)
        expires = time.time() + app.token_ttl_s
        state.apps.tokens[token] = Minted(app, installation_id, expires)
        state.limits.per_credential[quota_key(state.apps.tokens[token])] = app.rate_limit
        return JSONResponse({
            "token": token,
            "expires_at": datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "permissions": {"issues": "write", "contents": "read", "actions": "read",
                            "pull_requests": "read"},
            "repository_selection": "all"}, 201)

    return routes
