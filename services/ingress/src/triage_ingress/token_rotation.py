"""Slack token rotation: an installed bot token that expires (the app has rotation on) is
refreshed before it is used, with slack-sdk's AsyncTokenRotator, and the new token and
refresh token are stored (sealed by the vault) for every replica.

Once, however many posts need it at the same moment: in one process a lock per workspace
lets the first caller refresh and the others re-read the stored result; across replicas
a claim in the idempotency bucket (create-if-absent) does the same, and a replica that
finds the claim taken retries its post a moment later instead of spending the refresh
token a second time (Slack's refresh tokens are one-use). A claim left by a replica that
died is taken over once stale.
"""

import asyncio
import json
import time
from collections.abc import Callable

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import SecretStr
from slack_sdk.errors import SlackTokenRotationError
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from triage_contracts.errors import ErrorCode, TemporaryError
from triage_contracts.logs import get_logger

from .installations import Stores

log = get_logger("triage.ingress.token_rotation")
# slack-sdk's default: refresh within two hours of expiry (Slack's tokens live twelve).
MINUTES_BEFORE_EXPIRY = 120
CLAIM_STALE_S = 30.0


def expiring(installation: Installation, minutes: int = MINUTES_BEFORE_EXPIRY) -> bool:
    expires_at = installation.bot_token_expires_at
    return (expires_at is not None and bool(installation.bot_refresh_token)
            and expires_at <= time.time() + minutes * 60)


class TokenRotation:
    def __init__(self, stores: Stores, client_id: str, client_secret: SecretStr,
                 api_url: str, claims: Callable[[], KeyValue], timeout: int = 10) -> None:
        self._stores = stores
        self._rotator = AsyncTokenRotator(
            client_id=client_id, client_secret=client_secret.get_secret_value(),
            client=AsyncWebClient(base_url=api_url, timeout=timeout))
        self._claims = claims
        self._locks: dict[str, asyncio.Lock] = {}

    async def fresh(self, installation: Installation) -> Installation:
        """`installation` with a bot token good for a while yet (refreshed if needed)."""
        if not expiring(installation):
            return installation
        key = _key(installation)
        async with self._locks.setdefault(key, asyncio.Lock()):
            current = await self._reread(installation)
            if not expiring(current):
                return current  # refreshed meanwhile, here or by another replica
            revision = await self._claim(key)
            try:
                return await self._rotate(current)
            finally:
                await self._release(key, revision)

    async def _reread(self, installation: Installation) -> Installation:
        found = await self._stores.installation(installation.team_id or "",
                                                installation.enterprise_id)
        return found or installation

    async def _rotate(self, installation: Installation) -> Installation:
        try:
            rotated = await self._rotator.perform_token_rotation(
                installation=installation, minutes_before_expiration=MINUTES_BEFORE_EXPIRY)
        except SlackTokenRotationError as exc:
            error = exc.api_error.response.get("error") if exc.api_error else None
            log.error("slack refused the token refresh", team_id=installation.team_id,
                      error=error)
            return installation  # the post goes ahead: Slack says whether the token works
        if rotated is None:
            return installation
        await self._stores.save(rotated)
        log.info("bot token refreshed", team_id=installation.team_id,
                 expires_at=rotated.bot_token_expires_at)
        return rotated

    async def _claim(self, key: str) -> int:
        kv = self._claims()
        value = json.dumps({"claimed_at": time.time()}).encode()
        try:
            return await kv.create(key, value)
        except KeyWrongLastSequenceError:
            pass
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:  # released between the two calls: come back at once
            raise TemporaryError("token refresh finished elsewhere", ErrorCode.CONFLICT,
                                 delay=0.2) from None
        age = time.time() - float(json.loads(entry.value or b"{}").get("claimed_at", 0))
        if age < CLAIM_STALE_S:
            raise TemporaryError("another replica is refreshing this workspace's token",
                                 ErrorCode.CONFLICT, delay=1.0)
        try:  # the claim of a replica that died: take it over (one of us wins)
            return await kv.update(key, value, last=entry.revision)
        except KeyWrongLastSequenceError as exc:
            raise TemporaryError("token refresh taken over elsewhere", ErrorCode.CONFLICT,
                                 delay=1.0) from exc

    async def _release(self, key: str, revision: int) -> None:
        try:
            await self._claims().delete(key, last=revision)
        except (KeyWrongLastSequenceError, KeyNotFoundError):
            pass  # taken over as stale meanwhile: the new holder releases it


def _key(installation: Installation) -> str:
    # Under the notifier's own `notify.` keys: its NATS identity may write nothing else.
    owner = installation.team_id or installation.enterprise_id or "unknown"
    return f"notify.{owner}.token-rotation"
