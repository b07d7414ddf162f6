"""Leader election: of the operator's replicas, one acts and the others stand by.

The lease is a key of the `triage-leases` KV bucket (`operator.<namespace>`), written
compare-and-set on its revision, like the team claims: two candidates racing for it cannot
both win, which the real nats-server enforces. Why NATS and not a Kubernetes Lease: the
operator already depends on NATS for everything it owns, the claims are there, and the
semantics the election needs (create-if-absent, update-if-unchanged) are the server's own.

client-go's algorithm on that key:
- a candidate takes the key when there is none, when it was released (no holder), or when
  its revision has not moved for `lease_s` as this candidate's own clock measures it (no
  clock is compared with another node's);
- the leader renews every `renew_s`; it gives up leading when a renewal finds the key taken
  (someone else won) or when it could not renew for `renew_deadline_s` (shorter than
  `lease_s`, so it has stopped before anyone may take over);
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


class Lease(BaseModel):
    holder: str = ""  # empty: released
    lease_s: float
    renewed_at: str = ""  # for people reading the key (`nats kv get`), never compared


def lease_key(namespace: str) -> str:
    return f"operator.{namespace}"


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
    _nc: Client | None = None
    _kv: KeyValue | None = None
    _revision: int = 0

    @property
    def key(self) -> str:
        return lease_key(self.namespace)

    def _value(self, holder: str) -> bytes:
        lease = Lease(holder=holder, lease_s=self.lease_s, renewed_at=utcnow().isoformat())
        return lease.model_dump_json().encode()

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            if self._nc is None:  # one connection, reconnecting by itself once made
                self._nc = await nats.connect(
                    self.url, name=f"triage-operator-{self.identity}",
                    max_reconnect_attempts=-1, **self.auth.connect_options())
            self._kv = await self._nc.jetstream(timeout=self.retry_s * 2).key_value(
                Buckets.LEASES.name)
        return self._kv

    async def campaign(self) -> None:
        """Return once this candidate leads."""
        seen: tuple[int, float] = (-1, time.monotonic())  # (revision, when it was first seen)
        while True:
            try:
                seen = await self._try(seen)
            except (NatsError, TimeoutError, OSError) as exc:
                log.warning("leader election: NATS unavailable",
                            error=str(exc) or type(exc).__name__)
            if self._revision:
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
        try:
            if revision is None:
                self._revision = await kv.create(self.key, self._value(self.identity))
            else:
                self._revision = await kv.update(self.key, self._value(self.identity),
                                                 last=revision)
        except KeyWrongLastSequenceError:
            pass  # another candidate was quicker

    async def hold(self) -> None:
        """Renew while leading; return when leadership is lost."""
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(self.renew_s)
            try:
                kv = await self._bucket()
                self._revision = await kv.update(self.key, self._value(self.identity),
                                                 last=self._revision)
                renewed = time.monotonic()
            except KeyWrongLastSequenceError:
                log.error("leadership lost: another candidate holds the lease", key=self.key)
                break
            except (NatsError, TimeoutError, OSError) as exc:
                if time.monotonic() - renewed >= self.renew_deadline_s:
                    log.error("leadership given up: the lease could not be renewed in time",
                              error=str(exc) or type(exc).__name__)
                    break
        self._revision = 0

    async def release(self) -> None:
        """Hand the lease over at once (a clean stop); nothing if not leading."""
        if self._revision and self._kv is not None:
            try:
                await self._kv.update(self.key, self._value(""), last=self._revision)
            except (NatsError, TimeoutError, OSError) as exc:
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
