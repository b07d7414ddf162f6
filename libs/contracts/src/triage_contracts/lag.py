"""Consumer lag: how many messages wait for a durable consumer, read from JetStream.

Lag is `num_pending` (not delivered yet) plus `num_ack_pending` (delivered, not acked):
both are work the consumer still has to finish, and it is the sum KEDA's nats-jetstream
scaler reads from the monitoring endpoint for the same consumers (charts/triage).

- `LagReader` answers "how far behind is this consumer" with a short cache, so a burst of
  events costs one consumer-info request per consumer per second, never one per event.
- `LagMetrics` exports `triage_consumer_lag{stream,consumer}` on the service's /metrics for
  every consumer the service subscribed to (`consume.subscribe` tracks them), refreshed by
  a background task every `interval` seconds (the approval service serves /metrics from
  prometheus_client's own thread, so the value cannot be read at scrape time).
"""

import asyncio
import time
from contextlib import suppress
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from faststream.nats import NatsBroker
from nats.errors import Error as NatsError
from prometheus_client import CollectorRegistry, Gauge

from .bus import jetstream
from .errors import TemporaryError
from .logs import get_logger
from .streams import ConsumerSpec

log = get_logger("triage.lag")
METRIC = "triage_consumer_lag"


@dataclass(frozen=True)
class Lag:
    pending: int
    ack_pending: int

    @property
    def total(self) -> int:
        return self.pending + self.ack_pending


class LagReader:
    """Consumer info, cached for `ttl` seconds per consumer (concurrent callers share one
    request)."""

    def __init__(self, broker: NatsBroker, ttl: float = 1.0, timeout: float = 2.0) -> None:
        self.broker, self.ttl, self.timeout = broker, ttl, timeout
        self._cache: dict[tuple[str, str], tuple[float, asyncio.Task[Lag]]] = {}

    async def lag(self, stream: str, consumer: str) -> Lag:
        """Raises TemporaryError when it cannot be read (NATS away, no such consumer)."""
        key = (stream, consumer)
        cached = self._cache.get(key)
        if cached is None or time.monotonic() - cached[0] >= self.ttl or (
                cached[1].done() and cached[1].exception() is not None):
            cached = (time.monotonic(), asyncio.ensure_future(self._read(stream, consumer)))
            self._cache[key] = cached
        return await asyncio.shield(cached[1])

    async def _read(self, stream: str, consumer: str) -> Lag:
        try:
            info = await jetstream(self.broker).consumer_info(stream, consumer,
                                                              timeout=self.timeout)
        except (NatsError, TimeoutError) as exc:
            raise TemporaryError(f"consumer info of {stream}/{consumer}: "
                                 f"{exc or type(exc).__name__}") from exc
        return Lag(int(info.num_pending or 0), int(info.num_ack_pending or 0))


class LagMetrics:
    def __init__(self, broker: NatsBroker, registry: CollectorRegistry) -> None:
        self.reader = LagReader(broker)
        self.consumers: list[ConsumerSpec] = []
        self.gauge = Gauge(METRIC, "Messages waiting for a durable consumer: not delivered "
                           "yet plus delivered and not acknowledged",
                           ["stream", "consumer"], registry=registry)
        self._task: asyncio.Task[None] | None = None

    def track(self, spec: ConsumerSpec) -> None:
        if spec not in self.consumers:
            self.consumers.append(spec)

    async def refresh(self) -> None:
        """One reading per consumer; a consumer that cannot be read keeps its last value
        (a gap in NATS must not look like an empty queue to whoever scales on it)."""
        for spec in self.consumers:
            try:
                lag = await self.reader.lag(spec.stream, spec.durable)
            except (TemporaryError, NatsError) as exc:
                log.debug("consumer lag not read", consumer=spec.durable, error=str(exc))
                continue
            self.gauge.labels(stream=spec.stream, consumer=spec.durable).set(lag.total)

    def start(self, interval: float) -> None:
        if self._task is None and self.consumers and interval > 0:
            self._task = asyncio.create_task(self._every(interval), name="consumer-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _every(self, interval: float) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(interval)


# The broker a service built with a metrics registry -> its lag metrics (`broker.py` makes
# them, `consume.subscribe` adds its consumers, `runtime.broker_lifespan` runs them).
_METRICS: "WeakKeyDictionary[NatsBroker, LagMetrics]" = WeakKeyDictionary()


def attach(broker: NatsBroker, registry: CollectorRegistry) -> LagMetrics:
    metrics = _METRICS[broker] = LagMetrics(broker, registry)
    return metrics


def of(broker: NatsBroker) -> LagMetrics | None:
    return _METRICS.get(broker)
