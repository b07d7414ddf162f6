"""What a step handler gets besides the state: the clock reading, the skills (only when
a run starts) and the list that collects the effects the engine decides on."""

from dataclasses import dataclass, field
from datetime import datetime

from triage_contracts.messages import AuditKind

from .commands import Command, Effect, EmitAudit
from .skills import Skill
from .state import Pending, RunState, Transition


@dataclass
class Ctx:
    now: datetime
    skills: list[Skill] = field(default_factory=list)
    out: list[Effect] = field(default_factory=list)

    def send(self, state: RunState, owner: str, step_id: str, command: Command,
             blocking: bool = True) -> None:
        """Record the command as awaited under `step_id` (re-sendable after a crash) and
        emit it. `owner` is the workflow step that waits for the answer."""
        state.pending[step_id] = Pending(
            owner=owner, blocking=blocking, command=command)
        self.out.append(command)

    def audit(self, state: RunState, kind: AuditKind, action: str, key: str, **kw: object) -> None:
        self.out.append(EmitAudit(kind=kind, action=action, dedupe_key=f"{state.run_id}:{key}",
                                  **kw))  # type: ignore[arg-type]

    def record(self, state: RunState, step: str, event: str, detail: str = "") -> None:
        state.history.append(Transition(at=self.now, step=step, event=event, detail=detail))
        state.updated_at = self.now
