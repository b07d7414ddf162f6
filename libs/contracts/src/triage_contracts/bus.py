"""The message bus every service uses: a faststream NATS broker with tracing, metrics and
the one error-to-ack mapping, plus a publish helper that demands a JetStream ack.

nats-py is used directly only for what faststream lacks here: stream provisioning and KV.
"""

from typing import Any

from faststream.nats import NatsBroker
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.nats.prometheus import NatsPrometheusMiddleware
from nats.js import JetStreamContext
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from .errors import ErrorCode, PermanentError, TemporaryError
from .ids import new_id
from .streams import STREAMS
from .telemetry import tracer_provider

MSG_ID_HEADER = "Nats-Msg-Id"


def stream_for(subject: str) -> str:
    for spec in STREAMS:
        if any(subject.startswith(pattern.removesuffix(">")) for pattern in spec.subjects):
            return spec.name
    raise ValueError(f"no stream captures subject {subject!r}")


def build_broker(
    nats_url: str,
    service: str,
    registry: CollectorRegistry | None = None,
    fail_fast: bool = False,
) -> NatsBroker:
    from .consume import ErrorMappingMiddleware  # local: consume imports this module

    middlewares: list[Any] = [
        ErrorMappingMiddleware.for_service(service),
        NatsTelemetryMiddleware(tracer_provider=tracer_provider(service)),
    ]
    if registry is not None:
        middlewares.append(NatsPrometheusMiddleware(registry=registry, app_name=service))
    options: dict[str, Any] = {"name": f"triage-{service}"}
    if fail_fast:
        options.update(max_reconnect_attempts=1, reconnect_time_wait=0.1)
    return NatsBroker(nats_url.split(","), middlewares=middlewares, **options)


def jetstream(broker: NatsBroker) -> JetStreamContext:
    """The nats-py JetStream context behind a started broker (for KV and provisioning)."""
    js = broker.config.connection_state.stream
    if js is None:
        raise RuntimeError("broker is not connected")
    return js  # type: ignore[no-any-return]


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
    except TimeoutError as exc:
        raise TemporaryError(f"JetStream did not acknowledge {subject}: {exc}") from exc
    except Exception as exc:  # nats errors: no responders, connection closed, ...
        if "no responders" in str(exc).lower() or "connection" in str(exc).lower():
            raise TemporaryError(f"JetStream unavailable for {subject}: {exc}") from exc
        raise PermanentError(f"publish to {subject} failed: {exc}", ErrorCode.INTERNAL) from exc
    return not bool(getattr(ack, "duplicate", False))
