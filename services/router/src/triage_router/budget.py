"""Daily model spend per team, shared by every router replica through JetStream KV.

The key `budget.<team>.<yyyymmdd>` (UTC day) in the idempotency bucket holds the day's
ledger (`ledger.py`: spent, and a hold per call in flight). Every change is one
compare-and-set of that one value, so the ledger's own check (spent + held + new hold <=
limit) is atomic across replicas: calls in flight can never overshoot the limit together.
Within a process, changes to one key queue on a lock instead of racing each other's CAS.
"""

import asyncio
import random
import weakref
from collections.abc import Callable
from datetime import datetime, timedelta

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from triage_contracts.bus import TRANSIENT_NATS_ERRORS
from triage_contracts.errors import TemporaryError
from triage_contracts.ids import utcnow
from triage_contracts.logs import get_logger

from . import ledger
from .ledger import Change, DayLedger, Hold

log = get_logger("triage.router.budget")
_CAS_ATTEMPTS = 50
Operation = Callable[[DayLedger, float], tuple[DayLedger, Change]]


class TeamBudget:
    def __init__(self, limit_usd: float, kv: KeyValue, hold_ttl_s: float,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.limit_usd = limit_usd
        self.hold_ttl_s = hold_ttl_s
        self._kv = kv
        self._clock = clock
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary())

    def key(self, team_id: str, days_ago: int = 0) -> str:
        return f"budget.{team_id}.{self._clock() - timedelta(days=days_ago):%Y%m%d}"

    def recent_keys(self, team_id: str) -> list[str]:
        """Today's key, and yesterday's while a hold made before midnight may still live."""
        since_midnight = self._clock() - self._clock().replace(hour=0, minute=0, second=0,
                                                                microsecond=0)
        young = since_midnight.total_seconds() < self.hold_ttl_s
        return [self.key(team_id)] + ([self.key(team_id, 1)] if young else [])

    async def read(self, key: str) -> DayLedger:
        entry = await self._get(key)
        return DayLedger.decode(entry.value if entry else None)

    async def reserve(self, key: str, slot: str, attempt: str, usd: float,
                      limit_usd: float | None = None) -> Change:
        """Hold `usd` within `limit_usd` (the team's own, from its Workspace), else within
        the limit every team gets."""
        until = self._clock().timestamp() + self.hold_ttl_s
        hold = Hold(round(usd, 8), attempt, until)
        limit = self.limit_usd if limit_usd is None else limit_usd
        return await self._apply(key, lambda d, now: ledger.reserve(d, slot, hold, limit, now))

    async def settle(self, key: str, slot: str, attempt: str, cost: float) -> Change:
        return await self._apply(key, lambda d, now: ledger.settle(d, slot, attempt, cost, now))

    async def settle_stored(self, key: str, slot: str, attempt: str, cost: float) -> Change:
        return await self._apply(key, lambda d, now: ledger.settle_stored(
            d, slot, attempt, cost, now))

    async def release(self, key: str, slot: str, attempt: str) -> Change:
        return await self._apply(key, lambda d, now: ledger.release(d, slot, attempt, now))

    async def take_over(self, key: str, slot: str, attempt: str) -> Change:
        """Charge another attempt's hold on this slot without holding anything new."""
        return await self._apply(key, lambda d, now: ledger.take_over(d, slot, attempt, now))

    async def _apply(self, key: str, operation: Operation) -> Change:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            for _ in range(_CAS_ATTEMPTS):
                entry = await self._get(key)
                before = DayLedger.decode(entry.value if entry else None)
                after, change = operation(before, self._clock().timestamp())
                if after == before or await self._put(key, after, entry):
                    _log_expired(key, change)
                    return change
                await asyncio.sleep(random.uniform(0.001, 0.02))  # another replica wrote
        raise TemporaryError(f"budget ledger {key} kept changing under {_CAS_ATTEMPTS} tries")

    async def _get(self, key: str) -> KeyValue.Entry | None:
        try:
            return await self._kv.get(key)
        except KeyNotFoundError:
            return None
        except TRANSIENT_NATS_ERRORS as exc:
            raise TemporaryError(f"budget ledger unavailable: {type(exc).__name__}") from exc

    async def _put(self, key: str, value: DayLedger, entry: KeyValue.Entry | None) -> bool:
        """Compare-and-set; False when another writer came first."""
        try:
            if entry is None:
                await self._kv.create(key, value.encode())
            else:
                await self._kv.update(key, value.encode(), last=entry.revision)
        except KeyWrongLastSequenceError:
            return False
        except TRANSIENT_NATS_ERRORS as exc:
            raise TemporaryError(f"budget ledger unavailable: {type(exc).__name__}") from exc
        return True


def _log_expired(key: str, change: Change) -> None:
    if change.expired:
        # A router crashed with these calls in flight and no delivery came back for them.
        log.warning("budget holds expired", key=key, slots=len(change.expired))
