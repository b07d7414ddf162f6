"""Wiring of the approval service: broker, consumer, store, sweep, API and pages.
No I/O here: the database schema and the broker connect in the lifespan."""

import asyncio

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from triage_contracts.broker import build_broker
from triage_contracts.health import health_router
from triage_contracts.http import install_error_boundary
from triage_contracts.runtime import broker_lifespan

from . import api, web
from .background import Sweeper
from .db import create_schema, make_engine
from .decisions import SERVICE, Approvals
from .handlers import register
from .settings import Settings
from .store import ApprovalStore


def build_app(settings: Settings) -> FastAPI:
    metrics = CollectorRegistry()
    broker = build_broker(settings.nats_url, SERVICE, metrics)
    engine = make_engine(settings.database_url)
    approvals = Approvals(settings, ApprovalStore(engine), broker, metrics)
    register(broker, settings, approvals)
    sweeper = Sweeper(approvals, settings.sweep_interval)

    async def on_start() -> None:
        await asyncio.to_thread(create_schema, engine)
        sweeper.start()

    async def on_stop() -> None:
        await sweeper.stop()
        engine.dispose()

    app = FastAPI(title="Triage approvals",
                  lifespan=broker_lifespan(broker, settings, on_start, on_stop))
    app.state.settings = settings
    app.state.broker = broker
    app.state.approvals = approvals
    app.state.sweeper = sweeper
    app.include_router(health_router(broker, metrics))
    app.include_router(api.router)
    app.include_router(web.router)
    install_error_boundary(app)
    return app

