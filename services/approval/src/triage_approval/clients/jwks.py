"""The authenticating proxy's signing keys (its JWKS URL) and verification of its JWTs.

Keys are cached for `JWKS_CACHE_SECONDS`. A token naming an unknown key id refreshes the
set once (the proxy rotated its key), at most once per `min_refresh` seconds, so a flood
of forged key ids cannot turn into a flood of fetches. When the JWKS cannot be fetched the
cached keys keep working; with none cached the request is answered 503 (TemporaryError).
"""

import time
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from triage_contracts.errors import TemporaryError
from triage_contracts.logs import get_logger

from ..tokens import Expected, UnknownKey, verify

log = get_logger("triage.approval.jwks")


class KeysUnavailable(TemporaryError):
    """The proxy's JWKS could not be fetched and no keys are cached."""


class ProxyTokens:
    def __init__(self, jwks_url: str, expected: Expected, cache_seconds: float,
                 min_refresh: float = 2.0, timeout: float = 5.0) -> None:
        self.jwks_url = jwks_url
        self.expected = expected
        self.cache_seconds = cache_seconds
        self.min_refresh = min_refresh
        self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")

    async def verify(self, token: str) -> dict[str, Any]:
        """The verified claims of `token` (NotAuthenticated when it does not verify)."""
        try:
            return verify(token, await self._current(), self.expected, int(time.time()))
        except UnknownKey:
            if time.monotonic() - self._fetched_at < self.min_refresh:
                raise
        return verify(token, await self._fetch(), self.expected, int(time.time()))

    async def close(self) -> None:
        await self._http.aclose()

    async def _current(self) -> KeySet:
        if self._keys is None or time.monotonic() - self._fetched_at >= self.cache_seconds:
            return await self._fetch()
        return self._keys

    async def _fetch(self) -> KeySet:
        self._fetched_at = time.monotonic()
        try:
            resp = await self._http.get(self.jwks_url)
            resp.raise_for_status()
            self._keys = KeySet.import_key_set(resp.json())
        except (httpx.HTTPError, ValueError, TypeError, KeyError, JoseError) as exc:
            log.warning("proxy JWKS not refreshed", url=self.jwks_url,
                        error=type(exc).__name__)
        if self._keys is None:
            raise KeysUnavailable("the authenticating proxy's keys are unavailable")
        return self._keys
