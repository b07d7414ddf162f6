"""A real OpenID Connect provider stand-in on loopback, for the approval service's login
and proxy-JWT tests: discovery, JWKS, an authorization endpoint that consents at once for
the user the test chose, and a token endpoint that checks what a provider checks (client
authentication, the one-time code, the redirect URI, PKCE S256) and issues ID tokens
signed with keys generated here (RS256 and ES256).

The same keys sign the JWTs an authenticating proxy would send (`mint`), so one stand-in
serves both ways to authenticate. Everything goes over real HTTP under uvicorn.
"""

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

CLIENT_ID = "triage-approvals"
CLIENT_SECRET = "idp-client-secret-0123456789"
SLACK_USER = "https://slack.com/user_id"
SLACK_TEAM = "https://slack.com/team_id"


def new_keys(suffix: str = "1") -> list[RSAKey | ECKey]:
    return [RSAKey.generate_key(2048, parameters={"kid": f"rsa-{suffix}", "use": "sig",
                                                  "alg": "RS256"}),
            ECKey.generate_key("P-256", parameters={"kid": f"ec-{suffix}", "use": "sig",
                                                    "alg": "ES256"})]


@dataclass
class Grant:
    redirect_uri: str
    nonce: str | None
    challenge: str
    claims: dict[str, Any]


@dataclass
class IdP:
    issuer: str
    keys: list[RSAKey | ECKey] = field(default_factory=new_keys)
    # Who the next authorization consents as (the test signs in as this person).
    user: dict[str, Any] = field(default_factory=dict)
    redirect_uris: set[str] = field(default_factory=set)
    grants: dict[str, Grant] = field(default_factory=dict)
    seen: list[dict[str, str]] = field(default_factory=list)  # authorization requests
    jwks_fetches: int = 0
    # A misbehaving or impersonated provider: claims forced into the next ID tokens (None
    # removes one), a key outside the JWKS, or no signature at all.
    tamper: dict[str, Any] = field(default_factory=dict)
    rogue_key: RSAKey | ECKey | None = None
    unsigned: bool = False

    def sign_in_as(self, user_id: str, team_id: str | None = "T_ACME", **extra: Any) -> None:
        claims: dict[str, Any] = {"sub": f"sub-{user_id}", SLACK_USER: user_id, **extra}
        if team_id is not None:
            claims[SLACK_TEAM] = team_id
        self.user = claims

    def mint(self, claims: dict[str, Any], *, alg: str = "RS256", audience: str = CLIENT_ID,
             lifetime: int = 300, key: RSAKey | ECKey | None = None,
             header: dict[str, Any] | None = None) -> str:
        """A JWT as this provider (or an authenticating proxy using its keys) signs it."""
        signer = key or next(k for k in self.keys if k.alg == alg)
        now = int(time.time())
        body = {"iss": self.issuer, "aud": audience, "iat": now, "exp": now + lifetime,
                **claims}
        return jwt.encode({"alg": alg, "kid": signer.kid, **(header or {})}, body, signer)

    def id_token(self, grant: Grant) -> str:
        claims = {**grant.claims, **({"nonce": grant.nonce} if grant.nonce else {})}
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300,
                  **claims, **self.tamper}
        claims = {k: v for k, v in claims.items() if v is not None}
        if self.unsigned:
            return unsigned_jwt(claims)
        return self.mint(claims, key=self.rogue_key)

    def rotate(self) -> None:
        """A new key pair replaces the old one (the JWKS serves only the new keys)."""
        self.keys = new_keys(secrets.token_hex(3))

    def jwks(self) -> dict[str, Any]:
        return KeySet(list(self.keys)).as_dict(private=False)


def build_idp_app(idp: IdP) -> FastAPI:
    app = FastAPI()

    @app.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, Any]:
        return {"issuer": idp.issuer, "authorization_endpoint": f"{idp.issuer}/authorize",
                "token_endpoint": f"{idp.issuer}/token", "jwks_uri": f"{idp.issuer}/jwks",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                          "client_secret_post"]}

    @app.get("/jwks")
    async def jwks() -> dict[str, Any]:
        idp.jwks_fetches += 1
        return idp.jwks()

    @app.get("/authorize")
    async def authorize(request: Request) -> Response:
        params = dict(request.query_params)
        idp.seen.append(params)
        if params.get("client_id") != CLIENT_ID or params.get("redirect_uri") not in \
                idp.redirect_uris or params.get("code_challenge_method") != "S256":
            return JSONResponse({"error": "invalid_request"}, 400)
        code = secrets.token_urlsafe(16)
        idp.grants[code] = Grant(params["redirect_uri"], params.get("nonce"),
                                 params.get("code_challenge", ""), dict(idp.user))
        query = urlencode({"code": code, "state": params.get("state", "")})
        return RedirectResponse(f"{params['redirect_uri']}?{query}", status_code=302)

    @app.post("/token")
    async def token(request: Request, grant_type: str = Form(""), code: str = Form(""),
                    redirect_uri: str = Form(""), code_verifier: str = Form("")) -> Response:
        grant = idp.grants.pop(code, None)  # a code is good once
        if (grant_type != "authorization_code" or grant is None
                or not _client_ok(request, await request.form())
                or redirect_uri != grant.redirect_uri
                or _s256(code_verifier) != grant.challenge):
            return JSONResponse({"error": "invalid_grant"}, 400)
        return JSONResponse({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                             "expires_in": 300, "id_token": idp.id_token(grant)})

    return app


def unsigned_jwt(claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
    """`alg: none`: a token anyone can write."""
    def part(value: dict[str, Any]) -> str:
        raw = json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return f"{part(header or {'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _client_ok(request: Request, form: Any) -> bool:
    basic = request.headers.get("authorization", "")
    if basic.startswith("Basic "):
        user, _, password = base64.b64decode(basic[6:]).decode().partition(":")
        return (user, password) == (CLIENT_ID, CLIENT_SECRET)
    return (form.get("client_id"), form.get("client_secret")) == (CLIENT_ID, CLIENT_SECRET)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
