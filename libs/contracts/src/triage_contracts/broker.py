"""Building the message broker every service uses: a faststream NATS broker with tracing,
metrics and the one error-to-ack mapping (`consume.py`) installed as middlewares."""

import logging
import re
from typing import Any

from faststream.nats import NatsBroker
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.nats.prometheus import NatsPrometheusMiddleware
from prometheus_client import CollectorRegistry

from . import lag
from .consume import ErrorMappingMiddleware
from .natsauth import NatsAuth
from .telemetry import tracer_provider


def build_broker(
    nats_url: str,
    service: str,
    metrics: CollectorRegistry | None = None,
    fail_fast: bool = False,
    auth: NatsAuth | None = None,
) -> NatsBroker:
    """Services pass their `auth` (`natsauth.nats_auth(settings)`); without it the user and
    password of the URL, if any, apply (the tests' harness connects as `test-admin`)."""
    middlewares: list[Any] = [
        ErrorMappingMiddleware.for_service(service),
        NatsTelemetryMiddleware(tracer_provider=tracer_provider(service)),
    ]
    if metrics is not None:
        middlewares.append(NatsPrometheusMiddleware(registry=metrics, app_name=service))
    options: dict[str, Any] = {
        "name": f"triage-{service}",
        # faststream logs "Received" and "Processed" for every message through a logger of
        # its own, at INFO whatever LOG_LEVEL says, past the redaction filter: at load that
        # was a tenth of the audit service's CPU. Through a standard logger under the root
        # (LOG_LEVEL and the redaction filter apply), the per-message lines at DEBUG.
        "logger": logging.getLogger(f"triage.broker.{service}"),
        "log_level": logging.DEBUG,
    }
    if fail_fast:
        options.update(max_reconnect_attempts=1, reconnect_time_wait=0.1)
    servers = nats_url.split(",")
    if auth is not None:
        options.update(auth.broker_options())
        # The service's own identity wins over credentials in the URL (as in nats-py).
        servers = [_without_credentials(server) for server in servers]
    broker = NatsBroker(servers, middlewares=middlewares, **options)
    if metrics is not None:  # consumer lag next to the message metrics (lag.py)
        lag.attach(broker, metrics)
    return broker


def _without_credentials(server: str) -> str:
    return re.sub(r"^([a-z]+://)[^/@]*@", r"\1", server.strip())
