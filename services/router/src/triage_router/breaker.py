"""Circuit breakers, one per target: a target that keeps failing is skipped for a while
instead of costing every call a timeout before the fallback answers.

closed --N consecutive failures--> open --reset_s elapsed--> half-open (one trial call)
half-open --success--> closed;  half-open --failure--> open again.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class _Breaker:
    failures: int = 0
    opened_at: float | None = None


class Breakers:
    def __init__(
        self, threshold: int = 3, reset_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.reset_s = reset_s
        self._clock = clock
        self._breakers: dict[str, _Breaker] = {}

    def state(self, key: str) -> BreakerState:
        breaker = self._breakers.get(key)
        if breaker is None or breaker.opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - breaker.opened_at >= self.reset_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def acquire(self, key: str) -> bool:
        """May a call go to this target now? A half-open breaker lets exactly one trial
        through: it re-arms the timer so concurrent callers keep skipping until it reports."""
        state = self.state(key)
        if state is BreakerState.HALF_OPEN:
            self._breakers[key].opened_at = self._clock()
        return state is not BreakerState.OPEN

    def success(self, key: str) -> None:
        self._breakers.pop(key, None)

    def failure(self, key: str) -> None:
        breaker = self._breakers.setdefault(key, _Breaker())
        breaker.failures += 1
        # A failed half-open trial re-opens at once; otherwise wait for the threshold.
        if breaker.opened_at is not None or breaker.failures >= self.threshold:
            breaker.opened_at = self._clock()
