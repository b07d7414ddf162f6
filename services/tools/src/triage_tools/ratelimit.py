"""A token bucket per tool: GitHub and Prometheus are shared, and one runaway agent loop must
not spend a whole organisation's API quota. Waits are short and in-process; a longer wait is
handed back to JetStream as a delayed redelivery instead of holding the message."""

import time
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    rate_per_s: float
    burst: int
    _tokens: float = field(init=False)
    _updated: float = field(init=False)

    def __post_init__(self) -> None:
        if self.rate_per_s <= 0 or self.burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self._tokens = float(self.burst)
        self._updated = time.monotonic()

    def try_acquire(self) -> float:
        """Take one token: 0.0 when taken, else the seconds until one is available."""
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate_per_s)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate_per_s
