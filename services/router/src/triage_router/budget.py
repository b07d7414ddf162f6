"""Daily model spend per team, shared by every router replica through JetStream KV.

The key `budget.<team>.<yyyymmdd>` (UTC day) in the idempotency bucket holds the summed
cost; updates are compare-and-set so concurrent replicas never lose each other's spend.
The check happens before a call (the cost of a call is only known after it), so a day's
spend can exceed the limit by at most the calls already in flight.
"""

import json
from collections.abc import Callable
from datetime import datetime

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from triage_contracts.ids import utcnow
from triage_contracts.logs import get_logger

log = get_logger("triage.router.budget")
_CAS_ATTEMPTS = 10


class Budget:
    def __init__(
        self, limit_usd: float, kv: KeyValue, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.limit_usd = limit_usd
        self._kv = kv
        self._clock = clock

    def key(self, team_id: str) -> str:
        return f"budget.{team_id}.{self._clock():%Y%m%d}"

    async def spent(self, team_id: str) -> float:
        try:
            entry = await self._kv.get(self.key(team_id))
        except KeyNotFoundError:
            return 0.0
        return _decode(entry.value)

    async def exceeded(self, team_id: str) -> bool:
        return await self.spent(team_id) >= self.limit_usd

    async def add(self, team_id: str, cost_usd: float) -> float:
        """Add a call's cost; returns the day's new total."""
        if cost_usd <= 0:
            return await self.spent(team_id)  # free calls (offline) need no write
        key = self.key(team_id)
        for _ in range(_CAS_ATTEMPTS):
            try:
                entry = await self._kv.get(key)
            except KeyNotFoundError:
                entry = None
            total = (_decode(entry.value) if entry else 0.0) + cost_usd
            try:
                if entry is None:
                    await self._kv.create(key, _encode(total))
                else:
                    await self._kv.update(key, _encode(total), last=entry.revision)
                return total
            except KeyWrongLastSequenceError:
                continue  # another replica wrote in between: re-read and re-apply
        # The answer is already paid for; losing it over bookkeeping would cost twice.
        log.error("budget update kept conflicting; spend not recorded", key=key, cost=cost_usd)
        return total


def _encode(total: float) -> bytes:
    return json.dumps({"cost_usd": round(total, 8)}).encode()


def _decode(value: bytes | None) -> float:
    return float(json.loads(value or b"{}").get("cost_usd", 0.0))
