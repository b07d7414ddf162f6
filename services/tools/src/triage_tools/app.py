"""Wiring of the tools service: broker, registry, write guard, output pager, subscriber,
HTTP endpoints. No I/O here: connecting and binding the KV bucket and the object store
happen in the lifespan."""

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from triage_contracts.broker import build_broker
from triage_contracts.bus import jetstream
from triage_contracts.health import health_router
from triage_contracts.http import install_error_boundary
from triage_contracts.natsauth import nats_auth
from triage_contracts.runtime import broker_lifespan
from triage_contracts.streams import Buckets, ObjectStores

from .answered import Answered
from .api import api_router
from .catalog import build_registry, github_client
from .handlers import register
from .outputs import OutputPager
from .quota_share import QuotaShare
from .service import SERVICE, ToolService
from .settings import Settings
from .writes import WriteGuard


def build_app(settings: Settings) -> FastAPI:
    metrics = CollectorRegistry()
    broker = build_broker(settings.nats_url, SERVICE, metrics, auth=nats_auth(settings))
    pager = OutputPager(settings.tool_output_chars)
    github = github_client(settings)
    registry = build_registry(settings, pager, github)
    # Every replica spends the same token: exhaustion one learns, all know.
    quota = QuotaShare(github.session.layer.quota, github.session.credential)
    # A write attempt takes at most two tool timeouts; a claim older than that is abandoned.
    guard = WriteGuard(settings.grant_keyring(), stale_after_s=4 * settings.tool_timeout_s)
    answered = Answered()
    service = ToolService(registry, guard, pager, broker, answered)
    register(broker, service, settings.team_scope, settings.consumer_concurrency)

    async def on_start() -> None:
        js = jetstream(broker)
        guard.bind(await js.key_value(Buckets.IDEMPOTENCY.name))
        answered.bind(await js.key_value(Buckets.TOOL_RESULTS.name))
        pager.store.bind(await js.object_store(ObjectStores.OUTPUTS.name))
        quota.bind(await js.key_value(Buckets.IDEMPOTENCY.name))

    app = FastAPI(title="triage tools", lifespan=broker_lifespan(broker, settings, on_start,
                                                                quota.stop))
    app.include_router(health_router(broker, metrics))
    app.include_router(api_router(registry, settings))
    app.state.broker = broker
    app.state.service = service
    app.state.registry = registry
    app.state.guard = guard
    app.state.pager = pager
    app.state.quota = quota
    install_error_boundary(app)
    return app
