"""Who is acting, resolved from verified credentials only, in this order:

1. `Authorization: Bearer <token>`: SERVICE_TOKEN (constant-time compare) is the trusted
   Slack ingress; otherwise, when the proxy's JWT travels in `Authorization`, a proxy JWT.
   A bearer token that is neither is refused, never ignored.
2. The proxy JWT header (PROXY_JWT_HEADER), verified against the proxy's JWKS.
3. The signed session of an OIDC login.
4. Sandbox only (DEV_IDENTITY): the user picked in the page.

A credential that is presented and fails is a 401: it never falls through to a weaker
one. `X-Forwarded-User` and other bare headers are never read. The teams a caller may see
come from the token's team claim, else from the approver directory; the dev identity sees
every team (anyone can be anyone there anyway).
"""

import hmac

from starlette.requests import Request

from . import sessions
from .clients.jwks import ProxyTokens
from .directory import Directory
from .principal import EVERY_TEAM, SERVICE, Principal, Scope, Via, from_claims
from .rules import NotAuthenticated
from .settings import Settings


class Identity:
    def __init__(self, settings: Settings, directory: Directory,
                 proxy: ProxyTokens | None) -> None:
        self.settings = settings
        self.directory = directory
        self.proxy = proxy
        # Sessions count only while the way they were made is still configured.
        self._session_kinds = frozenset(
            via for via, on in ((Via.OIDC, settings.oidc_enabled),
                                (Via.DEV, settings.dev_identity)) if on)

    async def principal(self, request: Request) -> Principal | None:
        """The verified caller, None when nobody presented anything; NotAuthenticated
        when what was presented does not verify."""
        bearer = _bearer(request)
        if bearer is not None:
            return await self._bearer(bearer)
        proxied = request.headers.get(self.settings.proxy_jwt_header)
        if proxied and self.proxy is not None:
            return await self._proxy(proxied.removeprefix("Bearer ").strip())
        return sessions.signed_in(request, self._session_kinds)

    async def scope(self, principal: Principal) -> Scope:
        """The teams a (non-service) caller may see."""
        if principal.via is Via.DEV:
            return EVERY_TEAM
        if principal.teams is not None:
            return Scope(principal.teams)
        return await self.directory.scope_of(principal.user_id)

    async def _bearer(self, token: str) -> Principal:
        if self._is_service_token(token):
            return SERVICE
        if self.proxy is not None and self.settings.proxy_jwt_header.lower() == "authorization":
            return await self._proxy(token)
        raise NotAuthenticated("invalid bearer token")

    async def _proxy(self, token: str) -> Principal:
        assert self.proxy is not None
        claims = await self.proxy.verify(token)
        return from_claims(claims, self.settings.user_id_claim, self.settings.team_id_claim,
                           Via.PROXY)

    def _is_service_token(self, token: str) -> bool:
        expected = self.settings.service_token
        if expected is None or not expected.get_secret_value():
            return False
        return hmac.compare_digest(expected.get_secret_value().encode(), token.encode())


def _bearer(request: Request) -> str | None:
    """The token of an `Authorization` header; NotAuthenticated for any other scheme."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("only bearer tokens are accepted")
    return token.strip()
