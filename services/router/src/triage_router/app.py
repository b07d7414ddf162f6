"""Wiring: broker, subscriber, lifespan, health and the /routes endpoint. No I/O here: the
routes file is read and model clients are built when the app starts."""

from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from triage_contracts.broker import build_broker
from triage_contracts.errors import TemporaryError
from triage_contracts.health import health_router
from triage_contracts.http import install_error_boundary
from triage_contracts.natsauth import nats_auth
from triage_contracts.runtime import broker_lifespan

from .handlers import register
from .service import ModelRouter
from .settings import Settings


def build_app(settings: Settings) -> FastAPI:
    metrics = CollectorRegistry()
    broker = build_broker(settings.nats_url, "router", metrics, auth=nats_auth(settings))
    router = ModelRouter(settings, broker, metrics)
    register(broker, router, settings.team_scope, settings.consumer_concurrency)

    app = FastAPI(
        title="triage-router",
        lifespan=broker_lifespan(broker, settings, router.start, router.stop),
    )
    app.state.broker = broker
    app.state.router = router
    app.state.metrics = metrics
    app.include_router(health_router(broker, metrics, ready=lambda: router.routes is not None))

    @app.get("/routes")
    async def routes() -> dict[str, Any]:
        if router.routes is None:
            raise TemporaryError("routes not loaded yet")
        return router.describe_routes()

    install_error_boundary(app)
    return app
