"""Leader election: of the operator's replicas, one acts and the others stand by.

The lease is a key of the `triage-leases` KV bucket (`operator.<namespace>`), written
compare-and-set on its revision, like the team claims: two candidates racing for it cannot
both win, which the real nats-server enforces. Why NATS and not a Kubernetes Lease:
docs/architecture.md ("The operator's leader election is a NATS lease").

client-go's algorithm on that key:
- a candidate takes the key when there is none, when it was released (no holder), or when
  its revision has not moved for `lease_s` as this candidate's own clock measures it (no
  clock is compared with another node's);
- the leader renews every `renew_s`; it gives up leading when a renewal finds the key taken
  (someone else won) or when `renew_deadline_s` has passed since the last renewal it sent
  that succeeded: every wait and every request is cut at that deadline, so the leader has
  stopped (`__main__` cancels kopf) while a standby still has `lease_s - renew_deadline_s`
  to wait;
- a leader that stops cleanly releases the key, so a standby takes over at once.
"""

import asyncio
import socket
import time
from dataclasses import dataclass, field

import nats
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import BaseModel, ValidationError
from triage_contracts.ids import utcnow
from triage_contracts.logs import get_logger
from triage_contracts.natsauth import NatsAuth
from triage_contracts.streams import Buckets

log = get_logger(__name__)
NATS_ERRORS = (NatsError, TimeoutError, OSError)


class Lease(BaseModel):
    holder: str = ""  # empty: released
    lease_s: float
    renewed_at: str = ""  # for people reading the key (`nats kv get`), never compared


def lease_key(namespace: str) -> str:
    return f"operator.{namespace}"


async def _quiet(exc: Exception) -> None:
    log.debug("lease connection error", error=str(exc) or type(exc).__name__)


@dataclass
class Elector:
    url: str
    auth: NatsAuth
    namespace: str
    identity: str = field(default_factory=socket.gethostname)
    lease_s: float = 15.0
    renew_s: float = 5.0
    renew_deadline_s: float = 10.0
    retry_s: float = 2.0
    # Why the last attempt to reach the lease failed (None: it did not): a standby that
    # cannot campaign is not ready (health.py).
    error: str | None = None
    _nc: Client | None = None
    _kv: KeyValue | None = None
    _revision: int = 0
    _sent_at: float = 0.0

    @property
    def key(self) -> str:
        return lease_key(self.namespace)

    @property
    def leading(self) -> bool:
        return self._revision > 0

    def _value(self, holder: str) -> bytes:
        lease = Lease(holder=holder, lease_s=self.lease_s, renewed_at=utcnow().isoformat())
        return lease.model_dump_json().encode()

    async def _bucket(self) -> KeyValue:
        if self._nc is None or self._nc.is_closed:
            # Few reconnect attempts: a connection that gives up is closed and made again
            # on the next call, so an outage never blocks a call for long.
            self._nc = await nats.connect(
                self.url, name=f"triage-operator-{self.identity}", connect_timeout=2,
                max_reconnect_attempts=3, reconnect_time_wait=1, error_cb=_quiet,
                **self.auth.connect_options())
            self._kv = None
        if self._kv is None:
            self._kv = await self._nc.jetstream(timeout=self.retry_s * 2).key_value(
                Buckets.LEASES.name)
        return self._kv

    async def campaign(self) -> None:
        """Return once this candidate leads."""
        seen: tuple[int, float] = (-1, time.monotonic())  # (revision, when it was first seen)
        while True:
            try:
                async with asyncio.timeout(self.retry_s * 5):
                    seen = await self._try(seen)
                self.error = None
            except NATS_ERRORS as exc:
                self.error = str(exc) or type(exc).__name__
                log.warning("leader election: the lease cannot be read", error=self.error)
            if self.leading:
                log.info("leading", identity=self.identity, key=self.key)
                return
            await asyncio.sleep(self.retry_s)

    async def _try(self, seen: tuple[int, float]) -> tuple[int, float]:
        kv = await self._bucket()
        try:
            entry = await kv.get(self.key)
        except (KeyNotFoundError, KeyDeletedError):
            await self._take(kv, None)
            return seen
        revision, now = entry.revision or 0, time.monotonic()
        holder, lease_s = _holder(entry.value)
        if revision != seen[0]:
            seen = (revision, now)  # it moved: the holder is alive, count again from now
        if holder in ("", self.identity) or now - seen[1] >= lease_s:
            await self._take(kv, revision)
        return seen

    async def _take(self, kv: KeyValue, revision: int | None) -> None:
        sent = time.monotonic()  # the lease runs from before the write, never after
        try:
            if revision is None:
                self._revision = await kv.create(self.key, self._value(self.identity))
            else:
                self._revision = await kv.update(self.key, self._value(self.identity),
                                                 last=revision)
            self._sent_at = sent
        except KeyWrongLastSequenceError:
            pass  # another candidate was quicker

    async def hold(self) -> None:
        """Renew while leading; return when leadership is lost, at the latest
        `renew_deadline_s` after the last renewal that succeeded was sent."""
        next_at = self._sent_at + self.renew_s
        while True:
            deadline = self._sent_at + self.renew_deadline_s
            await asyncio.sleep(max(0.0, min(next_at, deadline) - time.monotonic()))
            sent = time.monotonic()
            if sent >= deadline:
                log.error("leadership given up: the lease could not be renewed in time",
                          error=self.error)
                break
            try:
                async with asyncio.timeout(deadline - sent):
                    kv = await self._bucket()
                    self._revision = await kv.update(self.key, self._value(self.identity),
                                                     last=self._revision)
                self._sent_at, next_at, self.error = sent, sent + self.renew_s, None
            except KeyWrongLastSequenceError:
                log.error("leadership lost: another candidate holds the lease", key=self.key)
                break
            except NATS_ERRORS as exc:
                self.error = str(exc) or type(exc).__name__
                next_at = time.monotonic() + min(self.retry_s, self.renew_s)
        self._revision = 0

    async def release(self) -> None:
        """Hand the lease over at once (a clean stop); nothing if not leading. On a fresh
        connection (kopf, stopping, may have cancelled the reader of the old one), and by
        the stored revision if a cancelled renewal moved it."""
        if not self.leading:
            return
        await self.close()
        try:
            async with asyncio.timeout(self.retry_s * 5):
                kv = await self._bucket()
                entry = await kv.get(self.key)
                if _holder(entry.value)[0] == self.identity:
                    await kv.update(self.key, self._value(""), last=entry.revision or 0)
        except NATS_ERRORS as exc:
            log.warning("lease not released; a standby takes over once it expires",
                        error=str(exc) or type(exc).__name__)
        self._revision = 0

    async def close(self) -> None:
        """Best effort: nats-py can fail closing a connection that is reconnecting."""
        if self._nc is not None:
            try:
                await self._nc.close()
            except Exception as exc:  # noqa: BLE001 - shutting down; nothing to recover
                log.debug("lease connection closed with an error", error=repr(exc))
        self._nc, self._kv = None, None


def _holder(value: bytes | None) -> tuple[str, float]:
    """(holder, lease seconds) of a stored lease; an unreadable one counts as released."""
    try:
        lease = Lease.model_validate_json(value or b"")
    except ValidationError:
        return "", 0.0
    return lease.holder, lease.lease_s
