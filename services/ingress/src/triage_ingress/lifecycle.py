"""Slack saying the app lost a workspace: `app_uninstalled` (the app was removed) and
`tokens_revoked` (some of its tokens were). The stored bot credentials of that workspace
are deleted at once, so nothing keeps a token Slack no longer honours (and the vault no
longer holds a secret nobody should use), the event is audited, and an install event tells
the install controller to remove the workspace's deployment (`install_events.py`).

User tokens are never used here: a revocation of user tokens alone deletes nothing (the
installation row also holds the workspace's bot token) and is only recorded.
Idempotent: Slack's retries delete nothing twice, and their install event (Slack's event
id as Nats-Msg-Id) is stored once.
"""

from typing import Any

from triage_contracts.errors import ErrorCode, PermanentError
from triage_contracts.ids import stable_id
from triage_contracts.logs import get_logger
from triage_contracts.messages import AuditKind

from . import install_events
from .installations import Stores
from .intake import Edge

EVENTS = frozenset({"app_uninstalled", "tokens_revoked"})
log = get_logger("triage.ingress.lifecycle")


def bots_revoked(event: dict[str, Any]) -> bool:
    tokens = event.get("tokens")
    return isinstance(tokens, dict) and bool(tokens.get("bot"))


async def handle(edge: Edge, stores: Stores | None, payload: dict[str, Any],
                 team_id: str) -> dict[str, Any]:
    scope = edge.settings.team_scope
    if scope and team_id != scope:
        raise PermanentError("this workspace is not served here", ErrorCode.POLICY_DENIED)
    event: dict[str, Any] = payload["event"]
    kind = str(event.get("type"))
    enterprise_id = payload.get("enterprise_id") or None
    forget = kind == "app_uninstalled" or bots_revoked(event)
    deleted = False
    if forget and stores is not None:
        # An org-wide (Grid) install is stored under the enterprise with no team.
        team = None if payload.get("is_enterprise_install") else team_id
        await stores.forget(enterprise_id, team)
        deleted = True
    event_id = str(payload.get("event_id") or stable_id("lifecycle-", team_id, kind))
    await edge.audit.emit(
        team_id, stable_id("uninstall-", team_id, event_id), AuditKind.REQUEST,
        f"slack.{kind}", actor="slack", dedupe_key=event_id,
        detail={"event_id": event_id, "enterprise_id": enterprise_id,
                "credentials_deleted": deleted,
                "revoked": {k: len(v) for k, v in (event.get("tokens") or {}).items()
                            if isinstance(v, list)}})
    if forget:  # after the deletion: the controller may remove the deployment at once
        await install_events.announce(edge.broker, install_events.removed(
            payload, team_id, event_id), edge.settings.publish_timeout_s)
    if forget and stores is None:
        log.warning("Slack removed the app but this ingress has no installation store: "
                    "remove SLACK_BOT_TOKEN from its settings", team_id=team_id)
    log.info("slack lifecycle event", kind=kind, team_id=team_id, deleted=deleted)
    return {"ok": True}
