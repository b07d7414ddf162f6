"""The GitHub quota shared by every tools replica: one token's 5,000 requests an hour are
spent by all of them, so what one learns (the token is spent until HH:MM, or blocked by a
secondary limit) the others must not find out by asking GitHub again.

The news travels through the idempotency KV bucket under `quota.<credential digest>.
<resource>` (the tools identity may write that prefix only): the book announces
exhaustion from PyGithub's worker thread, which this module puts on the event loop; every
`refresh_s` each replica reads its own token's keys back into its book. Only exhaustion is
shared, never counts, so the common path costs no KV round trip. A KV failure loses only
the news (each replica still learns from GitHub's own refusals): it is logged, not raised.
"""

import asyncio
import contextlib
import json
import time

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue
from triage_contracts.bus import TRANSIENT_NATS_ERRORS
from triage_contracts.logs import get_logger

from .clients.github.quota import QuotaBook

log = get_logger("triage.tools.quota")
RESOURCES = ("core", "search", "code_search")


def key(credential: str, resource: str) -> str:
    return f"quota.{credential.replace(':', '-')}.{resource}"


class QuotaShare:
    def __init__(self, book: QuotaBook, credential: str, refresh_s: float = 2.0) -> None:
        self.book = book
        self.credential = credential
        self.refresh_s = refresh_s
        self._kv: KeyValue | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def bind(self, kv: KeyValue) -> None:
        """Share through `kv` from now on (called on the running loop, at start)."""
        self._kv, self._loop = kv, asyncio.get_running_loop()
        self.book.on_block = self._announce
        self._task = asyncio.create_task(self._refreshing())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _announce(self, credential: str, resource: str, spent: float, blocked: float) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(lambda: loop.create_task(
                self.publish(credential, resource, spent, blocked)))

    async def publish(self, credential: str, resource: str, spent: float,
                      blocked: float) -> None:
        if self._kv is None:
            return
        value = json.dumps({"spent_until": spent, "blocked_until": blocked}).encode()
        try:
            await self._kv.put(key(credential, resource), value)
        except TRANSIENT_NATS_ERRORS as exc:
            log.warning("GitHub quota news not shared", error=type(exc).__name__)

    async def refresh(self) -> None:
        """Take the other replicas' news about this token into the book."""
        if self._kv is None:
            return
        for resource in RESOURCES:
            try:
                entry = await self._kv.get(key(self.credential, resource))
            except KeyNotFoundError:
                continue
            except TRANSIENT_NATS_ERRORS as exc:
                log.warning("GitHub quota news not read", error=type(exc).__name__)
                return
            news = json.loads(entry.value or b"{}")
            if max(news.get("spent_until", 0), news.get("blocked_until", 0)) > time.time():
                self.book.block(self.credential, resource, news.get("spent_until", 0.0),
                                news.get("blocked_until", 0.0))

    async def _refreshing(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self.refresh_s)
