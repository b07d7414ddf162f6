"""Wiring: broker, subscriber, lifespan, health and the /routes endpoint. No I/O here: the
routes file is read and model clients are built when the app starts."""

from typing import Any

from fastapi import FastAPI, HTTPException
from prometheus_client import CollectorRegistry
from triage_contracts.bus import build_broker
from triage_contracts.health import health_router
from triage_contracts.runtime import broker_lifespan

from .handlers import register
from .service import ModelRouter
from .settings import Settings


def build_app(settings: Settings) -> FastAPI:
    registry = CollectorRegistry()
    broker = build_broker(settings.nats_url, "router", registry)
    router = ModelRouter(settings, broker, registry)
    register(broker, router, settings.team_scope)

    app = FastAPI(
        title="triage-router",
        lifespan=broker_lifespan(broker, settings, router.start, router.stop),
    )
    app.state.broker = broker
    app.state.router = router
    app.state.registry = registry
    app.include_router(health_router(broker, registry, ready=lambda: router.routes is not None))

    @app.get("/routes")
    async def routes() -> dict[str, Any]:
        if router.routes is None:
            raise HTTPException(503, "routes not loaded yet")
        return router.describe_routes()

    return app
