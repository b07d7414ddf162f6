"""Telling the deployment side that a workspace gained or lost the app: an `InstallEvent`
on INSTALLS, which the install controller (services/operator) turns into the team's
`Workspace` resource or its removal.

Published only after the credentials were stored (an install, after `auth.test`) or
deleted (`app_uninstalled`, the bot's `tokens_revoked`), so a consumer may act on it at
once. The event id is the Nats-Msg-Id: Slack's retry of a removal, or a retried publish,
is stored once.
"""

from typing import Any

from faststream.nats import NatsBroker
from slack_sdk.oauth.installation_store import Installation
from triage_contracts import subjects
from triage_contracts.bus import publish
from triage_contracts.ids import stable_id
from triage_contracts.messages import InstallEvent, InstallKind


def installed(installation: Installation, state: str) -> InstallEvent:
    """An install Slack completed and this deployment stored. The OAuth state is used once,
    so its digest names this install and nothing else (the state itself is never sent)."""
    team = installation.team_id or installation.enterprise_id or ""
    return InstallEvent(
        event_id=stable_id("install-", team, state), install_kind=InstallKind.INSTALLED,
        team_id=team, enterprise_id=installation.enterprise_id,
        is_enterprise_install=bool(installation.is_enterprise_install),
        team_name=installation.team_name)


def removed(payload: dict[str, Any], team_id: str, event_id: str) -> InstallEvent:
    """`app_uninstalled`, or `tokens_revoked` with the bot token among them."""
    uninstalled = payload["event"].get("type") == "app_uninstalled"
    return InstallEvent(
        event_id=event_id,
        install_kind=InstallKind.UNINSTALLED if uninstalled else InstallKind.TOKENS_REVOKED,
        team_id=team_id, enterprise_id=payload.get("enterprise_id") or None,
        is_enterprise_install=bool(payload.get("is_enterprise_install")))


async def announce(broker: NatsBroker, event: InstallEvent, timeout: float) -> bool:
    """Publish and wait for the stream's ack; False when the stream already had it."""
    subject = subjects.install(event.team_id, event.install_kind.value)
    return await publish(broker, event, subject, msg_id=event.event_id, timeout=timeout)
