"""Assembling the ingress: the Slack endpoints (edge role), the notify consumer (notifier
role), health and metrics. No I/O here: connecting happens in the lifespan."""

from collections.abc import Callable

from fastapi import FastAPI
from faststream.nats import NatsBroker
from prometheus_client import CollectorRegistry
from slack_sdk.signature import SignatureVerifier
from triage_contracts.audit import AuditEmitter
from triage_contracts.broker import build_broker
from triage_contracts.health import health_router
from triage_contracts.http import install_error_boundary
from triage_contracts.logs import get_logger
from triage_contracts.natsauth import nats_auth
from triage_contracts.runtime import Hook, broker_lifespan

from . import commands, events, interactivity, oauth
from .approval_buttons import ApprovalButtons
from .assistant_calls import AssistantCalls
from .clients.approval import ApprovalApi
from .clients.slack import SlackClient
from .clients.slack_interactive import SlackInteractive
from .clients.slack_oauth import SlackOAuth
from .handlers import register_notifier
from .installations import Stores
from .intake import Edge
from .notifier import Notifier
from .pacing import ChannelPacer
from .queued import QueuedNotice
from .settings import Settings
from .socket_mode import SocketFrontDoor
from .team_slack import TeamSlack
from .token_rotation import TokenRotation
from .vault import DEV_KEY_ID

SERVICE = "ingress"
log = get_logger("triage.ingress")


def _verifier(settings: Settings) -> SignatureVerifier | None:
    secret = settings.slack_signing_secret
    if secret is None or not secret.get_secret_value().strip():
        log.warning("SLACK_SIGNING_SECRET is not set: every Slack request will be refused")
        return None
    return SignatureVerifier(secret.get_secret_value())


def _slack(settings: Settings) -> SlackClient | None:
    if settings.slack_bot_token is None:
        log.warning("SLACK_BOT_TOKEN is not set: notifications will fail")
        return None
    return SlackClient(settings.slack_bot_token, settings.slack_api_url,
                       timeout=settings.slack_timeout_s)


def _buttons(settings: Settings, audit: AuditEmitter, slack: SlackInteractive
             ) -> ApprovalButtons:
    api = None
    if settings.approval_url:
        api = ApprovalApi(settings.approval_url, settings.service_token,
                          settings.approval_timeout_s)
    else:
        log.warning("APPROVAL_URL is not set: Slack approval buttons will only explain that")
    return ApprovalButtons(api, slack, audit)


def _stores(settings: Settings) -> Stores | None:
    if not settings.oauth_enabled:
        return None
    vault = settings.vault()
    if DEV_KEY_ID in vault.keys.ids:
        log.warning("VAULT_MASTER_KEYS is not set: installed tokens are sealed with the "
                    "development key (refused in production)")
    return Stores.build(settings.database_url, settings.slack_client_id or "", vault)


def _oauth(settings: Settings, stores: Stores, audit: AuditEmitter,
           broker: NatsBroker) -> oauth.OAuthFlow:
    assert settings.slack_client_secret is not None  # install_flow_enabled says so
    slack = SlackOAuth(settings.slack_api_url, settings.slack_client_id or "",
                       settings.slack_client_secret, timeout=settings.slack_timeout_s)
    return oauth.OAuthFlow(settings, stores, slack, audit, broker)


def _notifier(settings: Settings, broker: NatsBroker, audit: AuditEmitter,
              stores: Stores | None) -> Notifier | None:
    if not settings.serves_notifier:
        return None
    # With OAuth a missing SLACK_BOT_TOKEN is normal: installed teams bring their own token.
    default = None if stores and settings.slack_bot_token is None else _slack(settings)
    teams = TeamSlack(default, stores, settings.slack_api_url, settings.slack_timeout_s)
    notifier = Notifier(broker, teams, audit, settings.notify_claim_stale_s,
                        settings.slack_response_url_prefix,
                        ChannelPacer(settings.slack_channel_rate, settings.slack_channel_burst))
    secret = settings.slack_client_secret
    if stores is not None and secret is not None and secret.get_secret_value().strip():
        teams.rotation = TokenRotation(stores, settings.slack_client_id or "", secret,
                                       settings.slack_api_url, lambda: notifier.kv,
                                       settings.slack_timeout_s)
    register_notifier(broker, notifier, settings.team_scope)
    return notifier


def _hooks(stores: Stores | None, notifier: Notifier | None,
           socket: Callable[[], SocketFrontDoor | None]) -> tuple[Hook, Hook]:
    async def on_start() -> None:
        if stores is not None:
            await stores.open()
        if notifier is not None:
            await notifier.start()
        door = socket()
        if door is not None:  # after the broker: envelopes are published at once
            await door.start()

    async def on_stop() -> None:
        door = socket()
        if door is not None:
            await door.stop()
        if stores is not None:
            await stores.close()

    return on_start, on_stop


def build_app(settings: Settings) -> FastAPI:
    metrics = CollectorRegistry()
    broker = build_broker(settings.nats_url, SERVICE, metrics, auth=nats_auth(settings))
    audit = AuditEmitter(broker, SERVICE)
    stores = _stores(settings)
    notifier = _notifier(settings, broker, audit, stores)

    app = FastAPI(
        title="triage-ingress", version="0.1.0",
        lifespan=broker_lifespan(broker, settings, *_hooks(
            stores, notifier, lambda: getattr(app.state, "socket_mode", None))),
    )
    app.state.settings = settings
    app.state.broker = broker
    app.state.metrics = metrics
    app.state.notifier = notifier
    app.state.stores = stores
    if settings.serves_edge:
        slack = SlackInteractive(settings.slack_bot_token, settings.slack_api_url,
                                 timeout=settings.slack_timeout_s, teams=stores)
        queued = (QueuedNotice(broker, settings.queued_notice_threshold, settings.team_scope)
                  if settings.queued_notice_threshold else None)
        app.state.edge = Edge(settings, broker, audit, _verifier(settings),
                              AssistantCalls(slack), queued)
        app.include_router(events.router)
        app.include_router(commands.router)
        app.state.approval_buttons = _buttons(settings, audit, slack)
        app.include_router(interactivity.router)
        if settings.slack_app_token is not None:
            app.state.socket_mode = SocketFrontDoor(
                settings.slack_app_token, settings.slack_api_url, app.state.edge, stores,
                app.state.approval_buttons)
        if stores is not None and settings.install_flow_enabled:
            app.state.oauth = _oauth(settings, stores, audit, broker)
            app.include_router(oauth.router)
        elif stores is not None:
            log.warning("SLACK_CLIENT_SECRET is not set: no install flow on this edge")
    app.include_router(health_router(broker, metrics))
    install_error_boundary(app)
    return app
