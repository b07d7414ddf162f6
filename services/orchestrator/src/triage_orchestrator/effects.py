"""The doing half: perform the engine's commands and audit records on the bus.

Every command is published with its deterministic msg_id through the contracts' publish
helper, which waits for the JetStream ack; a duplicate (already sent before a crash) is
dropped by the server and merely logged here.
"""

from collections.abc import Sequence

from faststream.nats import NatsBroker
from triage_contracts.audit import AuditEmitter
from triage_contracts.bus import publish
from triage_contracts.logs import get_logger

from .commands import Effect, EmitAudit

log = get_logger("triage.orchestrator.effects")


class Effects:
    def __init__(self, broker: NatsBroker) -> None:
        self.broker = broker
        self.auditor = AuditEmitter(broker, "orchestrator")

    async def perform(self, team_id: str, run_id: str, effects: Sequence[Effect]) -> None:
        # Commands first: an audit hiccup must not hold back the run's progress.
        for effect in effects:
            if not isinstance(effect, EmitAudit):
                fresh = await publish(self.broker, effect.message, effect.subject,
                                      msg_id=effect.msg_id)
                log.info("command sent" if fresh else "command already sent (deduplicated)",
                         msg_id=effect.msg_id, subject=effect.subject)
        for effect in effects:
            if isinstance(effect, EmitAudit):
                await self.auditor.emit(
                    team_id, run_id, effect.kind, effect.action, actor=effect.actor,
                    outcome=effect.outcome, detail=effect.detail, dedupe_key=effect.dedupe_key,
                )
