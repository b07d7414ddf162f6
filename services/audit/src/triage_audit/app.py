"""build_app: the audit consumer, the checkpointer and the query API in one FastAPI app
(no I/O here: keys are loaded and the first checkpoint batch is made at start)."""

import asyncio

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from triage_contracts.broker import build_broker
from triage_contracts.health import health_router
from triage_contracts.http import install_error_boundary
from triage_contracts.natsauth import nats_auth
from triage_contracts.runtime import broker_lifespan

from .anchoring import Anchoring
from .api import audit_router
from .groups import GroupWriter
from .handlers import register
from .settings import Settings
from .store import AuditStore


def build_app(settings: Settings) -> FastAPI:
    metrics = CollectorRegistry()
    broker = build_broker(settings.nats_url, "audit", metrics, auth=nats_auth(settings))
    store = AuditStore.from_url(settings.database_url)  # creates no connection yet
    anchoring = Anchoring(settings, store.engine)
    writer = GroupWriter(store, settings.consumer_concurrency)
    register(broker, writer, anchoring, settings.team_scope, settings.audit_poison_max_deliver)

    async def on_start() -> None:
        await asyncio.to_thread(store.create_schema)
        await anchoring.start()

    async def on_stop() -> None:
        await writer.stop()  # the consumer has stopped: no handler waits on a group
        await anchoring.stop()  # a last batch: shrinks the window of unanchored events
        store.dispose()

    app = FastAPI(
        title="triage audit",
        lifespan=broker_lifespan(broker, settings, on_start, on_stop),
    )
    app.state.broker = broker
    app.state.store = store
    app.state.anchoring = anchoring
    app.state.settings = settings
    app.include_router(health_router(broker, metrics))
    app.include_router(audit_router(settings.audit_api_token))
    install_error_boundary(app)
    return app
