"""Commands: what the pure engine asks the outside world to do, as plain values.

Each publish command carries the exact message and a deterministic `msg_id`
(f"{run_id}:{step_id}:cmd"), so performing it twice is harmless: JetStream's duplicate
window drops the second copy. Commands a run waits on are stored in its state, which is
what lets a restarted orchestrator re-derive and re-send them.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from triage_contracts import subjects
from triage_contracts.messages import (
    ApprovalRequest,
    AuditKind,
    Evidence,
    ModelCall,
    NotifyRequest,
    ToolCall,
)
from triage_contracts.tools import wire_name


class ThreadContext(BaseModel):
    """What an earlier run in the same Slack thread found (the context store's record)."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    question: str
    answer: str
    evidence: list[Evidence] = Field(default_factory=list)
    follow_ups: int = 0


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    msg_id: str


class PublishToolCall(_Command):
    type: Literal["tool_call"] = "tool_call"
    message: ToolCall

    @property
    def subject(self) -> str:
        return subjects.work("tool", self.message.team_id, wire_name(self.message.tool))


class PublishModelCall(_Command):
    type: Literal["model_call"] = "model_call"
    message: ModelCall

    @property
    def subject(self) -> str:
        return subjects.work("model", self.message.team_id, self.message.route)


class PublishNotify(_Command):
    type: Literal["notify"] = "notify"
    message: NotifyRequest

    @property
    def subject(self) -> str:
        return subjects.work("notify", self.message.team_id, self.message.notify_kind.value)


class PublishApprovalRequest(_Command):
    type: Literal["approval_request"] = "approval_request"
    message: ApprovalRequest

    @property
    def subject(self) -> str:
        return subjects.approval_request(self.message.team_id)


Command = Annotated[
    PublishToolCall | PublishModelCall | PublishNotify | PublishApprovalRequest,
    Field(discriminator="type"),
]


class EmitAudit(BaseModel):
    """An audit record the engine decided on; the effects layer emits it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: AuditKind
    action: str
    actor: str = ""
    outcome: str = "ok"
    detail: dict[str, Any] = Field(default_factory=dict)
    dedupe_key: str | None = None


class RecordThread(BaseModel):
    """Remember what this run answered in its Slack thread (the context store), so a
    follow-up in the thread continues from it; `record=None` forgets the thread. Stored
    with the transition's audit events, before its state is saved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    team_id: str
    channel_id: str
    thread_ts: str
    record: ThreadContext | None


Effect = (PublishToolCall | PublishModelCall | PublishNotify | PublishApprovalRequest | EmitAudit
          | RecordThread)


def cmd_id(run_id: str, step_id: str) -> str:
    return f"{run_id}:{step_id}:cmd"
