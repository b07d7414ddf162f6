"""The start-up and shutdown every service shares: connect, start consumers, serve HTTP
(health, metrics, the service's own API).

Services do not create streams, buckets or object stores: their NATS identities may not
(docs/security-nats.md). The `provisioner` does, before them (`python -m
triage_contracts.provision`, the chart's hook Job, the test and dev servers at start); a
service started first fails with a message saying so and is restarted."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from faststream.nats import NatsBroker
from nats.errors import ConnectionClosedError, ConnectionReconnectingError, DrainTimeoutError
from nats.js.errors import NotFoundError

from . import lag, telemetry
from .logs import configure_logging, get_logger
from .settings import ServiceSettings

Hook = Callable[[], Awaitable[None]]
log = get_logger("triage.runtime")


def broker_lifespan(
    broker: NatsBroker,
    settings: ServiceSettings,
    on_start: Hook | None = None,
    on_stop: Hook | None = None,
) -> Callable[[FastAPI], Any]:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await broker.connect()
        try:
            if on_start is not None:
                await on_start()
            await broker.start()
        except NotFoundError as exc:
            raise RuntimeError("a JetStream stream or bucket is missing: run the provisioner "
                               "first (python -m triage_contracts.provision)") from exc
        log.info("service started", nats=settings.nats_url.split("@")[-1])
        lag_metrics = lag.of(broker)
        if lag_metrics is not None:
            lag_metrics.start(settings.consumer_lag_interval_s)
        try:
            yield
        finally:
            if lag_metrics is not None:
                await lag_metrics.stop()
            if on_stop is not None:
                await on_stop()
            await _stop(broker)
            await telemetry.flush()

    return lifespan


def run_service[S: ServiceSettings](
    service: str, settings: S, build_app: Callable[[S], FastAPI],
) -> None:
    """What every service's `__main__` does: log as `service`, build the app, serve it."""
    configure_logging(service, settings.log_level, settings.log_json)
    serve(build_app(settings), settings)


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Run one service until SIGINT/SIGTERM (uvicorn handles both gracefully)."""
    uvicorn.run(
        app, host=settings.host, port=settings.port, log_level=settings.log_level.lower(),
        access_log=False, lifespan="on",
    )


async def _stop(broker: NatsBroker) -> None:
    """Drain and close; while NATS is unreachable draining fails, so close outright."""
    try:
        await broker.stop()
    except (ConnectionReconnectingError, ConnectionClosedError, DrainTimeoutError) as exc:
        log.warning("broker did not drain cleanly", error=type(exc).__name__)
        connection = broker.config.connection_state
        if connection:
            await connection.connection.close()
