"""The workflow spec: declarative YAML validated strictly at start-up.

A typo in a step kind or a budget must stop the service with the reason, not surface as a
stuck run hours later; hence `extra="forbid"` everywhere and `ConfigError` carrying the
file name and every validation problem. Skills (the runbooks) are in `skills.py`.
"""

from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from triage_contracts.errors import PermanentError, describe


class ConfigError(PermanentError):
    """The workflow file or a skill file is invalid; the message says where and why."""


class StepKind(StrEnum):
    CLASSIFY = "classify"  # the model picks the skill from the descriptions
    INVESTIGATE = "investigate"  # the tool-calling loop
    POLICY = "policy"
    APPROVAL = "approval"
    ACT = "act"
    REPLY = "reply"


Condition = Literal["writes_proposed", "approved"]
ROUTED = (StepKind.CLASSIFY, StepKind.INVESTIGATE)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Budgets(Strict):
    """Limits of one run. The investigation stops at the first one reached and then
    answers with what it found, saying what it could not check."""

    max_turns: int = Field(6, ge=1, le=30, description="model turns in the investigation")
    max_tool_calls: int = Field(12, ge=0, description="tool calls (reads and writes)")
    max_tokens: int = Field(60_000, ge=1_000, description="prompt + completion, all turns")
    max_usd: float = Field(0.50, ge=0, description="model spend of the run")
    investigate_timeout_s: float = Field(300.0, gt=0, description="wall clock of the loop")
    run_timeout_s: float = Field(1800.0, gt=0, description="waiting for any one step")
    # Turns in a row whose every tool call was invalid before the loop gives up.
    max_invalid_turns: int = Field(2, ge=1)
    max_follow_ups: int = Field(10, ge=0, description="follow-up runs in one Slack thread")


class Step(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")
    kind: StepKind
    route: str | None = None
    when: Condition | None = None

    @model_validator(mode="after")
    def _route_only_where_a_model_is_asked(self) -> "Step":
        if self.kind in ROUTED and not self.route:
            raise ValueError(f"step {self.id!r}: a {self.kind.value} step needs a route")
        if self.kind not in ROUTED and self.route:
            raise ValueError(f"step {self.id!r}: only classify and investigate take a route")
        return self


class WorkflowSpec(Strict):
    version: Literal[2]
    name: str
    budgets: Budgets = Field(default_factory=lambda: Budgets())
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _coherent(self) -> "WorkflowSpec":
        ids = [step.id for step in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError(f"step ids must be unique: {ids}")
        kinds = [step.kind for step in self.steps]
        if kinds[0] is not StepKind.CLASSIFY:
            raise ValueError("the first step must be of kind 'classify' (it picks the skill)")
        if kinds.count(StepKind.REPLY) != 1 or kinds[-1] is not StepKind.REPLY:
            raise ValueError("exactly one 'reply' step is required, and it must be the last")
        for kind in StepKind:
            if kind is not StepKind.REPLY and kinds.count(kind) > 1:
                raise ValueError(f"at most one {kind.value!r} step is allowed")
        if StepKind.INVESTIGATE not in kinds:
            raise ValueError("an 'investigate' step is required (it answers the question)")
        if StepKind.ACT in kinds and not _before(kinds, StepKind.APPROVAL, StepKind.ACT):
            raise ValueError("an 'act' step needs an 'approval' step before it")
        return self

    def index_of(self, kind: StepKind) -> int:
        return next(i for i, step in enumerate(self.steps) if step.kind is kind)


def _before(kinds: list[StepKind], first: StepKind, then: StepKind) -> bool:
    return first in kinds and kinds.index(first) < kinds.index(then)


def problems(exc: ValidationError) -> str:
    return describe(exc, limit=50, with_input=True)


def read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc


def load_workflow(path: Path) -> WorkflowSpec:
    data = read_yaml(path)
    try:
        return WorkflowSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid workflow file {path}: {problems(exc)}") from exc
