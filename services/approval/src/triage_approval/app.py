"""Wiring of the approval service: broker, consumer, store, directory, identity, sweep,
the API and the pages behind a signed session, and /metrics on its own port.
No I/O here: the database schema, the broker and the metrics listener start in the
lifespan; the OIDC provider is discovered at the first login."""

import asyncio
import secrets

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.middleware.sessions import SessionMiddleware
from triage_contracts.broker import build_broker
from triage_contracts.health import MetricsListener, health_router
from triage_contracts.http import install_error_boundary
from triage_contracts.logs import get_logger
from triage_contracts.natsauth import nats_auth
from triage_contracts.runtime import broker_lifespan

from . import api, approvers, login, web
from .background import Sweeper
from .clients.jwks import ProxyTokens
from .db import create_schema, make_engine
from .decisions import SERVICE, Approvals
from .directory import Directory
from .guard import RequireIdentity
from .handlers import register
from .identity import Identity
from .settings import Settings
from .store import ApprovalStore
from .tokens import Expected

SESSION_COOKIE = "triage_session"
log = get_logger("triage.approval")


def build_app(settings: Settings) -> FastAPI:
    metrics = CollectorRegistry()
    broker = build_broker(settings.nats_url, SERVICE, metrics, auth=nats_auth(settings))
    engine = make_engine(settings.database_url)
    directory = Directory(broker, approvers.parse(settings.approvers),
                          settings.directory_cache_seconds, settings.directory_stale_seconds)
    approvals = Approvals(settings, ApprovalStore(engine), broker, metrics, directory)
    register(broker, settings, approvals)
    sweeper = Sweeper(approvals, directory, settings.sweep_interval)
    proxy = proxy_tokens(settings)
    listener = (MetricsListener(metrics, settings.host, settings.metrics_port)
                if settings.metrics_port is not None else None)

    async def on_start() -> None:
        await asyncio.to_thread(create_schema, engine)
        if listener is not None:
            listener.start()
        sweeper.start()
        _announce(settings)

    async def on_stop() -> None:
        await sweeper.stop()
        if listener is not None:
            await asyncio.to_thread(listener.stop)
        if proxy is not None:
            await proxy.close()
        engine.dispose()

    app = FastAPI(title="Triage approvals",
                  lifespan=broker_lifespan(broker, settings, on_start, on_stop))
    app.state.settings = settings
    app.state.broker = broker
    app.state.approvals = approvals
    app.state.directory = directory
    app.state.identity = Identity(settings, directory, proxy)
    app.state.oidc = login.oidc_client(settings)
    app.state.sweeper = sweeper
    app.include_router(health_router(broker, metrics, serve_metrics=False))
    app.include_router(api.router)
    app.include_router(login.router)
    app.include_router(web.router)
    app.add_middleware(RequireIdentity)  # inside the session: it reads the session
    app.add_middleware(SessionMiddleware, secret_key=session_key(settings),
                       session_cookie=SESSION_COOKIE, max_age=settings.session_max_age,
                       same_site="lax", https_only=settings.secure_cookies)
    install_error_boundary(app)
    return app


def proxy_tokens(settings: Settings) -> ProxyTokens | None:
    if settings.proxy_jwks_url is None:
        return None
    expected = Expected(settings.proxy_jwt_issuer or "", settings.proxy_jwt_audience or "",
                        settings.algorithms, settings.token_leeway)
    return ProxyTokens(settings.proxy_jwks_url, expected, settings.jwks_cache_seconds)


def session_key(settings: Settings) -> str:
    """SESSION_SECRET, or (development only: production refuses it missing when people
    sign in) a random key per process, so sessions end with the process."""
    if settings.session_secret is not None and settings.session_secret.get_secret_value():
        return settings.session_secret.get_secret_value()
    return secrets.token_urlsafe(32)


def _announce(settings: Settings) -> None:
    methods = [name for name, on in (("oidc", settings.oidc_enabled),
                                     ("proxy-jwt", settings.proxy_enabled),
                                     ("service-token", settings.service_token is not None),
                                     ("dev-identity", settings.dev_identity)) if on]
    log.info("approver authentication", methods=methods or ["none: nobody can sign in"])
    if settings.dev_identity:
        log.warning("DEV IDENTITY: anyone can act as any sandbox user "
                    "(DEV_IDENTITY=true; refused in production)")
