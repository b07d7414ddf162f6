"""Emitting audit events: every service records what it did on `triage.audit.<team>.<svc>`.

Details are redacted before they leave the process; the audit service chains them.
"""

from typing import Any

from faststream.nats import NatsBroker

from . import subjects
from .bus import publish
from .messages import AuditEvent, AuditKind
from .redact import redact


class AuditEmitter:
    def __init__(self, broker: NatsBroker, service: str) -> None:
        self.broker = broker
        self.service = service

    async def emit(
        self,
        team_id: str,
        run_id: str,
        kind: AuditKind,
        action: str,
        *,
        actor: str = "",
        outcome: str = "ok",
        detail: dict[str, Any] | None = None,
        cost_usd: float = 0.0,
        dedupe_key: str | None = None,
    ) -> None:
        event = AuditEvent(
            team_id=team_id, run_id=run_id, service=self.service, audit_kind=kind,
            action=action, actor=actor, outcome=outcome, detail=redact(detail or {}),
            cost_usd=cost_usd,
        )
        # A dedupe key makes a retried handler record its step once, not twice.
        msg_id = f"audit:{self.service}:{dedupe_key}" if dedupe_key else event.message_id
        await publish(self.broker, event, subjects.audit(team_id, self.service), msg_id=msg_id)
