"""Outbound pacing per Slack channel: Slack allows about one message per second per
channel, with short bursts, and answers more with 429. During an incident many runs
answer in the same channel at once; pacing here spaces the posts so that they all land
instead of bouncing off the limit (Retry-After is still honoured when Slack says so).

A token bucket per channel, in this process: `burst` posts at once, then one every
1/rate seconds. The notifier handles its messages one after another, so a wait is at most
about one interval; it is capped well below the consumer's ack wait all the same.
"""

import asyncio
import time
from dataclasses import dataclass

MAX_WAIT_S = 10.0
_IDLE_S = 300.0  # buckets unused this long are dropped (channels come and go)


@dataclass
class _Bucket:
    tokens: float
    at: float


class ChannelPacer:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate  # posts per second per channel; 0 turns pacing off
        self.burst = max(1, burst)
        self._buckets: dict[str, _Bucket] = {}

    def delay(self, channel: str, now: float | None = None) -> float:
        """Take a token for `channel`; how long to wait before posting (0: at once)."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        self._forget_idle(now)
        bucket = self._buckets.setdefault(channel, _Bucket(float(self.burst), now))
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        bucket.tokens -= 1.0  # may go negative: later callers queue behind this one
        return 0.0 if bucket.tokens >= 0 else min(MAX_WAIT_S, -bucket.tokens / self.rate)

    async def wait(self, channel: str) -> None:
        delay = self.delay(channel)
        if delay > 0:
            await asyncio.sleep(delay)

    def _forget_idle(self, now: float) -> None:
        if len(self._buckets) > 1_000:
            self._buckets = {c: b for c, b in self._buckets.items() if now - b.at < _IDLE_S}
