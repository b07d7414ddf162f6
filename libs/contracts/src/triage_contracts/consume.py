"""Consuming: the durable pull subscriber every service uses, and the one place where
failures become JetStream acknowledgements.

- success                      -> ack
- PermanentError, bad payload  -> dead letter (with the reason) + term
- TemporaryError, other errors -> nak with backoff; dead letter once MaxDeliver is reached
  (or, for a consumer with unlimited deliveries and `give_up_s`, once the message is older)
- never acknowledged (a worker that hangs or crashes on it every time) -> dead letter when
  JetStream gives up: its MAX_DELIVERIES advisory is watched next to every consumer

While a handler runs, in-progress acks keep its message from being delivered again
(`_kept_alive`): JetStream replaces a consumer's AckWait with its first BackOff step.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from faststream import AckPolicy, BaseMiddleware
from faststream.exceptions import NackMessage, RejectMessage
from faststream.message import StreamMessage
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.message import NatsMessage
from faststream.nats.subscriber.usecases.basic import LogicSubscriber
from nats.errors import NotJSMessageError
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from . import lag, subjects
from .bus import jetstream, publish
from .errors import ErrorCode, PermanentError, TemporaryError, describe
from .logs import get_logger
from .messages import DeadLetter
from .streams import ConsumerSpec

log = get_logger("triage.consume")
BACKOFF = (1.0, 5.0, 15.0, 60.0, 300.0)


_MAX_DELIVER: dict[tuple[str, str], int] = {}
# Durable -> its `give_up_s` (filled by `subscribe`): how old a failing message may get.
_GIVE_UP: dict[str, float] = {}
# Durable -> (its BackOff steps, its AckWait) (filled by `subscribe`): see `_kept_alive`.
_LIVENESS: dict[str, tuple[tuple[float, ...], float]] = {}


@contextlib.asynccontextmanager
async def _kept_alive(msg: StreamMessage[Any]) -> AsyncIterator[None]:
    """In-progress acks while the handler runs, up to the consumer's own AckWait.

    With a BackOff, JetStream waits only its step for this delivery (1 s the first time)
    before delivering the message again: a handler slower than that (a paced Slack post, a
    slow GitHub call) would run twice at once, on another slot or replica. The acks reset
    that timer while the handler is alive, so a crashed worker's message still comes back
    after one step, and a handler stuck past the AckWait is given up on as before."""
    meta = _metadata(msg)
    found = _LIVENESS.get(meta.consumer) if meta is not None else None
    if found is None or not isinstance(msg, NatsMessage):
        yield
        return
    steps, ack_wait = found
    step = steps[min(int(meta.num_delivered), len(steps)) - 1] if steps else ack_wait
    if step >= ack_wait:  # JetStream waits as long as the handler may take anyway
        yield
        return
    beat = asyncio.create_task(_beat(msg, step / 3, ack_wait))
    try:
        yield
    finally:
        beat.cancel()


async def _beat(msg: NatsMessage, every: float, ack_wait: float) -> None:
    started = time.monotonic()
    while time.monotonic() - started + every < ack_wait:
        await asyncio.sleep(every)
        try:
            await msg.in_progress()
        except Exception as exc:  # noqa: BLE001 - the message then comes back, as without
            log.debug("in-progress ack not sent", error=str(exc))
            return


def _too_old(msg: StreamMessage[Any]) -> bool:
    """Stored longer ago than its consumer's `give_up_s` (never, without one)."""
    meta = _metadata(msg)
    limit = _GIVE_UP.get(meta.consumer) if meta is not None else None
    if limit is None or meta.timestamp is None:
        return False
    age: float = time.time() - meta.timestamp.timestamp()
    return age > limit


async def _deliveries(msg: StreamMessage[Any], broker: Any) -> tuple[int, int]:
    """(times delivered, the consumer's MaxDeliver); (1, 1) outside JetStream."""
    meta = _metadata(msg)
    if meta is None:
        return 1, 1
    key = (meta.stream, meta.consumer)
    if key not in _MAX_DELIVER:
        info = await jetstream(broker).consumer_info(meta.stream, meta.consumer)
        max_deliver = info.config.max_deliver or -1
        _MAX_DELIVER[key] = max_deliver if max_deliver > 0 else 1_000_000
    return int(meta.num_delivered), _MAX_DELIVER[key]


ADVISORY = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.{consumer}"


class NeverAcknowledged(PermanentError):
    """JetStream stopped delivering a message no handler ever acknowledged or failed."""

    def __init__(self, stored: Any, deliveries: int) -> None:
        super().__init__(f"never acknowledged in {deliveries} deliveries (the worker hung or "
                         "crashed on it every time)", ErrorCode.MAX_DELIVERIES)
        self.stored, self.deliveries = stored, deliveries


class ErrorMappingMiddleware(BaseMiddleware):
    service = "unknown"

    @classmethod
    def for_service(cls, service: str) -> Callable[..., "ErrorMappingMiddleware"]:
        return type(f"ErrorMapping_{service}", (cls,), {"service": service})

    async def consume_scope(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
        try:
            async with _kept_alive(msg):
                return await call_next(msg)
        except (NackMessage, RejectMessage):
            raise
        except (PermanentError, ValidationError) as exc:
            await self._dead_letter(msg, exc)
            raise RejectMessage() from exc
        except Exception as exc:
            delivered, max_deliver = await _deliveries(msg, self.context.get("broker"))
            if delivered >= max_deliver or _too_old(msg):
                await self._dead_letter(msg, exc, code=ErrorCode.MAX_DELIVERIES)
                raise RejectMessage() from exc
            delay = exc.delay if isinstance(exc, TemporaryError) and exc.delay else None
            delay = delay or BACKOFF[min(delivered, len(BACKOFF)) - 1]
            log.warning("retrying message", subject=msg.raw_message.subject, error=str(exc),
                        delivered=delivered, delay=delay)
            raise NackMessage(delay=delay) from exc

    async def _dead_letter(
        self, msg: StreamMessage[Any], exc: Exception, code: ErrorCode | None = None
    ) -> None:
        # A NeverAcknowledged error comes from an advisory: the letter is the stored message.
        source = exc.stored if isinstance(exc, NeverAcknowledged) else msg.raw_message
        subject = source.subject
        reason = _reason(exc)
        error_code = code or getattr(exc, "code", ErrorCode.INVALID_MESSAGE)
        log.error("dead-lettering message", subject=subject, reason=reason, code=str(error_code))
        try:
            team = subjects.team_of(subject)
        except (KeyError, IndexError):
            team = "unknown"
        letter = DeadLetter(
            service=self.service, original_subject=subject, reason=reason,
            error_code=str(error_code),
            deliveries=exc.deliveries if isinstance(exc, NeverAcknowledged) else delivered(msg),
            payload=(source.data or b"").decode("utf-8", "replace"),
            headers={k: str(v) for k, v in (source.headers or {}).items()},
        )
        broker = self.context.get("broker")
        await publish(broker, letter, subjects.dead_letter(_safe(team), self.service))


def _metadata(msg: StreamMessage[Any]) -> Any:
    try:
        return msg.raw_message.metadata
    except (AttributeError, NotJSMessageError):
        return None  # a core NATS message (tests, request-reply): no delivery facts


def current_message(broker: NatsBroker) -> NatsMessage:
    """The message the calling handler is handling (its JetStream metadata, in-progress
    acks). Not a `NatsMessage` parameter: fast_depends resolves such a context parameter
    with a synchronous call in a worker thread, a thread hop per message that also lets a
    later message of the same fetch overtake it (docs/architecture.md)."""
    message = broker.context.get_local("message")
    if message is None:
        raise RuntimeError("current_message() called outside a message handler")
    return message  # type: ignore[no-any-return]


def delivered(msg: StreamMessage[Any]) -> int:
    """How many times JetStream has delivered this message (1 outside JetStream)."""
    metadata = _metadata(msg)
    return int(metadata.num_delivered) if metadata is not None else 1


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "invalid message: " + describe(exc)
    return str(exc) or type(exc).__name__


def _safe(team: str) -> str:
    try:
        return subjects.token(team)
    except PermanentError:
        return "unknown"


def watch_max_deliveries(broker: NatsBroker, spec: ConsumerSpec) -> None:
    """Dead-letter each message the consumer's deliveries ran out on without a handler
    failing it (the error mapping dead-letters those itself, and terminates them, so they
    raise no advisory). One replica per consumer takes each advisory (queue group)."""
    subject = ADVISORY.format(stream=spec.stream, consumer=spec.durable)

    @broker.subscriber(subject, queue=f"dead-letters-{spec.durable}")
    async def on_max_deliveries(advisory: dict[str, Any]) -> None:
        seq, deliveries = int(advisory["stream_seq"]), int(advisory.get("deliveries", 0))
        try:
            stored = await jetstream(broker).get_msg(spec.stream, seq)
        except NotFoundError as exc:  # aged out: the advisory itself is the dead letter
            raise PermanentError(f"{spec.stream} #{seq} gave up after {deliveries} "
                                 "deliveries and is gone", ErrorCode.MAX_DELIVERIES) from exc
        raise NeverAcknowledged(stored, deliveries)


def subscribe(
    broker: NatsBroker, spec: ConsumerSpec, team_scope: str | None = None,
    concurrency: int = 1,
) -> LogicSubscriber[Any]:
    """A durable pull subscriber on the provisioned stream (use as a decorator), scoped to
    one team when the service runs per workspace; what it never acknowledges is
    dead-lettered too (`watch_max_deliveries`).

    `concurrency` (the services' CONSUMER_CONCURRENCY, capped by the consumer's own
    `max_concurrency`) is how many messages are handled at once: faststream's worker pool
    (`max_workers`), where each message runs the whole middleware chain and is acked or
    nak'ed on its own, and a slow one holds only its own slot. With 1, a fetched batch is
    handled together and the next fetch waits for its slowest message."""
    if team_scope:
        spec = spec.for_team(team_scope)
    watch_max_deliveries(broker, spec)
    workers = max(1, min(concurrency, spec.max_concurrency or concurrency))
    if spec.give_up_s is not None:
        _GIVE_UP[spec.durable] = spec.give_up_s
    config = spec.config()
    _LIVENESS[spec.durable] = (tuple(config.backoff or ()), spec.ack_wait)
    metrics = lag.of(broker)
    if metrics is not None:
        metrics.track(spec)
    return broker.subscriber(
        spec.filter_subject, stream=JStream(spec.stream, declare=False), durable=spec.durable,
        config=config, pull_sub=PullSub(batch_size=spec.fetch_batch, timeout=1.0),
        ack_policy=AckPolicy.NACK_ON_ERROR, inbox_prefix=_pull_inbox(broker),
        max_workers=workers,
    )


def _pull_inbox(broker: NatsBroker) -> bytes:
    """Pulled messages arrive on the connection's own inbox prefix: NATS permissions let
    each identity read only `_INBOX.<identity>.>` (faststream's default is `_INBOX.`)."""
    prefix = broker._connection_kwargs.get("inbox_prefix") or "_INBOX"
    text = prefix.decode() if isinstance(prefix, bytes) else str(prefix)
    return (text.rstrip(".") + ".").encode()
