"""Publishing on JetStream: the one helper every service uses to send a message and wait
for the stream's ack, with NATS failures sorted by type into the two error kinds.

This is the lowest layer of the bus: it knows streams and subjects, not consumers or the
broker's middlewares (`broker.py` builds the broker on top of `consume.py`, which uses
this module to dead-letter).
"""

from faststream.nats import NatsBroker
from nats import errors as nats_errors
from nats.js import JetStreamContext
from nats.js import errors as js_errors
from pydantic import BaseModel

from .errors import ErrorCode, PermanentError, TemporaryError
from .ids import new_id
from .streams import STREAMS

MSG_ID_HEADER = "Nats-Msg-Id"

# Failures that heal with time: the server or the connection is away, busy or electing.
TRANSIENT_NATS_ERRORS: tuple[type[Exception], ...] = (
    TimeoutError,  # nats.errors.TimeoutError subclasses it
    nats_errors.NoRespondersError,
    nats_errors.ConnectionClosedError,
    nats_errors.ConnectionReconnectingError,
    nats_errors.ConnectionDrainingError,
    nats_errors.NoServersError,
    nats_errors.StaleConnectionError,
    nats_errors.OutboundBufferLimitError,
    js_errors.ServiceUnavailableError,
    js_errors.ServerError,
    js_errors.NoStreamResponseError,
)


def stream_for(subject: str) -> str:
    for spec in STREAMS:
        if any(subject.startswith(pattern.removesuffix(">")) for pattern in spec.subjects):
            return spec.name
    raise ValueError(f"no stream captures subject {subject!r}")


def jetstream(broker: NatsBroker) -> JetStreamContext:
    """The nats-py JetStream context behind a started broker (for KV and provisioning)."""
    js = broker.config.connection_state.stream
    if js is None:
        raise TemporaryError("the broker is not connected")
    return js  # type: ignore[no-any-return]


async def kv_keys(js: JetStreamContext, bucket: str) -> list[str]:
    """Every key of a KV bucket that has a stored message (a value, or the marker of a
    deleted key: readers meet KeyDeletedError as for any read), from the stream's
    per-subject counts.

    Why not `KeyValue.keys()`: nats-py's watcher decides "no more keys" from a consumer
    info that can race the first deliveries, and then reports an empty bucket. Under load
    that made an approver lose every team for one request. One STREAM.INFO cannot race."""
    prefix = f"$KV.{bucket}."
    try:
        info = await js.stream_info(f"KV_{bucket}", subjects_filter=f"{prefix}>")
    except js_errors.NotFoundError as exc:
        raise PermanentError(f"KV bucket {bucket} does not exist (run the provisioner)",
                             ErrorCode.NOT_FOUND) from exc
    return sorted(subject[len(prefix):] for subject in (info.state.subjects or {}))


async def publish(
    broker: NatsBroker,
    message: BaseModel,
    subject: str,
    msg_id: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> bool:
    """Publish to JetStream and wait for the stream's ack. Returns False when the server
    recognised `msg_id` as a duplicate (already stored within the duplicate window)."""
    all_headers = {MSG_ID_HEADER: msg_id or getattr(message, "message_id", None) or new_id()}
    all_headers.update(headers or {})
    try:
        ack = await broker.publish(
            message, subject, headers=all_headers, stream=stream_for(subject), timeout=timeout,
        )
    except TRANSIENT_NATS_ERRORS as exc:
        raise TemporaryError(f"JetStream unavailable for {subject}: "
                             f"{type(exc).__name__} {exc}".strip()) from exc
    except (nats_errors.Error, js_errors.Error) as exc:
        raise PermanentError(f"publish to {subject} failed: {type(exc).__name__} {exc}",
                             ErrorCode.INTERNAL) from exc
    return not bool(getattr(ack, "duplicate", False))
