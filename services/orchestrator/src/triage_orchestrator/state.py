"""The durable state of one run, stored as JSON in the KV bucket `triage-runs`.

It snapshots everything the engine needs to continue (the workflow, the chosen skill, the
run's configuration), so a run started by one replica finishes identically on another,
even if the files changed in between. Commands the run waits on live in `pending`.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from triage_contracts.messages import (
    ApprovalDecision,
    ChatMessage,
    Evidence,
    ProposedAction,
    TriageRequest,
)

from .commands import Command, ThreadContext
from .skills import Skill
from .spec import Step, WorkflowSpec

TERMINAL = frozenset({"done", "failed"})


class RunStatus(StrEnum):
    RUNNING = "running"
    WAITING_APPROVAL = "waiting_approval"
    DONE = "done"
    FAILED = "failed"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunConfig(_Model):
    """The settings a run depends on, frozen into the run at its start."""

    repos: list[str] = Field(default_factory=list)
    default_repo: str | None = None
    # repository -> the `service` label its metrics and alerts carry
    services: dict[str, str] = Field(default_factory=dict)
    allowed_channels: list[str] = Field(default_factory=list)
    # The workspace's tool allow-list (skills narrow it further); None: every tool.
    allowed_tools: list[str] | None = None
    approval_public_url: str = "http://127.0.0.1:8400"
    approval_ttl_s: int = 14400
    bot_name: str = "triage"

    def service_of(self, repo: str | None) -> str | None:
        if repo is None:
            return None
        return self.services.get(repo) or repo.split("/")[-1]


class Pending(_Model):
    """A command the run has sent and whose answer it still expects."""

    owner: str  # the workflow step that sent it
    blocking: bool = True  # False: the step may finish without this answer
    command: Command
    # True once JetStream acknowledged the publish: never re-sent then, since a copy sent
    # after the stream's duplicate window would be stored (and done) a second time.
    sent: bool = False


class Finding(_Model):
    code: str  # secret | injection | disallowed_tool | invalid_action | email | channel | budget
    message: str
    severity: Literal["info", "warning", "block"] = "warning"


class PlannedAction(_Model):
    """A write that survived policy and awaits (or got) a human decision."""

    action: ProposedAction
    digest: str
    approval_id: str
    suspicious: bool = False
    expires_at: datetime


CallStatus = Literal["pending", "done", "error", "invalid", "queued_write", "not_run"]


class LoopCall(_Model):
    """One tool call the model asked for (or a skill's prefetch), and what became of it."""

    call_id: str  # the model's id for it; the tool message answers this id
    step_id: str  # run-unique: f"{step}-t{turn}-c{index}" (also its NATS msg id stem)
    turn: int
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    raw_arguments: str = "{}"
    status: CallStatus = "pending"
    # The tool message the model will read, held until every call of the turn answered
    # (tool messages go back in the order the model asked, whatever order results arrive).
    content: str = ""
    note: str = ""  # one line on what became of it (errors, limits) for the reply


class Investigation(_Model):
    """The tool-calling loop's own state inside a run."""

    started_at: datetime
    offered: list[str]  # tool names offered to the model
    messages: list[ChatMessage] = Field(default_factory=list)
    calls: list[LoopCall] = Field(default_factory=list)
    turn: int = 0  # 0: prefetch; model turns count from 1
    tokens: int = 0
    invalid_turns: int = 0
    final: bool = False  # the current turn offers no tools: the model must answer
    stopped: str | None = None  # why it ended before the model answered on its own
    provider: str = ""
    model: str = ""

    def turn_calls(self, turn: int | None = None) -> list[LoopCall]:
        wanted = self.turn if turn is None else turn
        return [call for call in self.calls if call.turn == wanted]

    def call(self, step_id: str) -> LoopCall | None:
        return next((c for c in self.calls if c.step_id == step_id), None)




class WriteOutcome(_Model):
    step_id: str
    tool: str
    ok: bool
    url: str | None = None
    data: Any = None
    error: str | None = None


class Counters(_Model):
    tool_calls: int = 0
    model_calls: int = 0


class Transition(_Model):
    at: datetime
    step: str
    event: str
    detail: str = ""


class RunState(_Model):
    team_id: str
    run_id: str
    request: TriageRequest
    workflow: WorkflowSpec
    config: RunConfig
    status: RunStatus = RunStatus.RUNNING
    step_index: int = 0
    skill: Skill | None = None
    candidates: list[Skill] = Field(default_factory=list)  # while classify waits
    repo: str | None = None
    service: str | None = None
    # Repositories the question names that this workspace does not serve.
    unknown_repos: list[str] = Field(default_factory=list)
    thread: ThreadContext | None = None
    pending: dict[str, Pending] = Field(default_factory=dict)
    investigation: Investigation | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    draft: str = ""  # the answer as the model (or the rules) wrote it: untrusted text
    reply_text: str = ""  # the draft grounded and escaped for Slack (policy step)
    model_ok: bool | None = None
    proposed_actions: list[ProposedAction] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    refused: bool = False
    action: PlannedAction | None = None
    decision: ApprovalDecision | None = None
    approval_expired: bool = False
    prompt_ts: str | None = None
    prompt_updated: bool = False
    write_results: list[WriteOutcome] = Field(default_factory=list)
    posted_ts: str | None = None
    counters: Counters = Field(default_factory=Counters)
    cost_usd: float = 0.0
    history: list[Transition] = Field(default_factory=list)
    error: str | None = None
    started_at: datetime
    # When the run gives up waiting (run_timeout_s; renewed after a human decision).
    deadline_at: datetime
    updated_at: datetime

    @property
    def key(self) -> str:
        return run_key(self.team_id, self.run_id)

    @property
    def terminal(self) -> bool:
        return self.status.value in TERMINAL

    @property
    def step(self) -> Step | None:
        steps = self.workflow.steps
        return steps[self.step_index] if self.step_index < len(steps) else None

    def waiting_on(self, owner: str) -> list[str]:
        return [sid for sid, p in self.pending.items() if p.owner == owner and p.blocking]


def run_key(team_id: str, run_id: str) -> str:
    """KV key `<team>.<run_id>`: both are subject tokens (no dots), so the key is unique."""
    return f"{team_id}.{run_id}"
