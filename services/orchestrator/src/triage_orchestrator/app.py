"""Assembling the service: broker, subscribers, lifespan, HTTP routes. No I/O here:
the workflow and skills are read when the app starts, so a bad file stops the start."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from faststream.nats import NatsBroker
from prometheus_client import CollectorRegistry
from triage_contracts.broker import build_broker
from triage_contracts.health import health_router
from triage_contracts.http import install_error_boundary
from triage_contracts.natsauth import nats_auth
from triage_contracts.runtime import broker_lifespan

from .api import runs_router
from .handlers import register
from .runner import Orchestrator
from .settings import Settings


def build_app(settings: Settings) -> FastAPI:
    metrics = CollectorRegistry()
    broker = build_broker(settings.nats_url, "orchestrator", metrics, auth=nats_auth(settings))
    orchestrator = Orchestrator(broker, settings)
    register(broker, orchestrator, settings.team_scope, settings.consumer_concurrency)
    app = FastAPI(title="triage-orchestrator",
                  lifespan=_lifespan(broker, settings, orchestrator))
    app.state.broker = broker
    app.state.orchestrator = orchestrator
    app.state.metrics = metrics
    app.include_router(health_router(broker, metrics, ready=orchestrator.ready))
    app.include_router(runs_router(orchestrator))
    install_error_boundary(app)
    return app


def _lifespan(
    broker: NatsBroker, settings: Settings, orchestrator: Orchestrator
) -> Callable[[FastAPI], Any]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        orchestrator.load_config()  # ConfigError with the file and the reason
        inner = broker_lifespan(broker, settings, orchestrator.on_start, orchestrator.on_stop)
        async with inner(app):
            yield

    return lifespan
