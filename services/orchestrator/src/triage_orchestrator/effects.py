"""The doing half: perform the engine's commands and audit records on the bus.

Every command is published with its deterministic msg_id through the contracts' publish
helper, which waits for the JetStream ack; a duplicate (already sent before a crash) is
dropped by the server and merely logged here.
"""

from collections.abc import Sequence

from faststream.nats import NatsBroker
from triage_contracts.audit import AuditEmitter
from triage_contracts.bus import publish
from triage_contracts.errors import TemporaryError
from triage_contracts.logs import get_logger

from .commands import Effect, EmitAudit, RecordThread
from .store import ThreadStore

log = get_logger("triage.orchestrator.effects")


class Effects:
    def __init__(self, broker: NatsBroker) -> None:
        self.broker = broker
        self.auditor = AuditEmitter(broker, "orchestrator")
        self.threads: ThreadStore | None = None  # bound once the broker is connected

    async def record(self, team_id: str, run_id: str, effects: Sequence[Effect]) -> None:
        """The audit events and thread records of a transition, BEFORE its state is saved:
        a crash after the save can then lose none of them, and a crash before it redoes the
        transition, whose events carry the same dedupe keys (JetStream keeps the first
        copy) and whose thread record is the same put again."""
        for effect in effects:
            if isinstance(effect, RecordThread):
                await self._record_thread(effect)
            elif isinstance(effect, EmitAudit):
                await self.auditor.emit(
                    team_id, run_id, effect.kind, effect.action, actor=effect.actor,
                    outcome=effect.outcome, detail=effect.detail, dedupe_key=effect.dedupe_key,
                )

    async def perform(self, team_id: str, run_id: str, effects: Sequence[Effect]) -> set[str]:
        """The commands of a transition, AFTER its state is saved (the saved state lists
        what the run waits on, so a crash in between re-sends them; never the other way).
        Returns the msg_ids JetStream now holds (stored now or before)."""
        sent: set[str] = set()
        for effect in effects:
            if not isinstance(effect, EmitAudit | RecordThread):
                fresh = await publish(self.broker, effect.message, effect.subject,
                                      msg_id=effect.msg_id)
                log.info("command sent" if fresh else "command already sent (deduplicated)",
                         msg_id=effect.msg_id, subject=effect.subject)
                sent.add(effect.msg_id)
        return sent

    async def _record_thread(self, effect: RecordThread) -> None:
        if self.threads is None:
            raise TemporaryError("the thread store is not open yet")
        if effect.record is None:
            await self.threads.forget(effect.team_id, effect.channel_id, effect.thread_ts)
        else:
            await self.threads.save(effect.team_id, effect.channel_id, effect.thread_ts,
                                    effect.record)
