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
    Evidence,
    ProposedAction,
    ToolResult,
    TriageRequest,
)

from .commands import Command
from .spec import Skill, Step, WorkflowSpec

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
    allowed_channels: list[str] = Field(default_factory=list)
    approval_public_url: str = "http://127.0.0.1:8400"
    approval_ttl_s: int = 14400


class Pending(_Model):
    """A command the run has sent and whose answer it still expects."""

    owner: str  # the workflow step that sent it
    blocking: bool = True  # False: the step may finish without this answer
    command: Command


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


class GatherRecord(_Model):
    """One gather call as sent, so evidence is built in the skill's order, not arrival order."""

    step_id: str
    tool: str
    args: dict[str, Any]
    label: str


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
    repo: str | None = None
    service: str | None = None
    pending: dict[str, Pending] = Field(default_factory=dict)
    gathered: list[GatherRecord] = Field(default_factory=list)
    tool_results: dict[str, ToolResult] = Field(default_factory=dict)
    evidence: list[Evidence] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    draft: str = ""
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
