"""The workflow spec and skills: declarative YAML validated strictly at start-up.

A typo in a step kind or a skill field must stop the service with the reason, not
surface as a stuck run hours later; hence `extra="forbid"` everywhere and `ConfigError`
carrying the file name and every validation problem.
"""

import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from triage_contracts.errors import PermanentError, describe
from triage_contracts.tools import WRITE_TOOLS


class ConfigError(PermanentError):
    """The workflow file or a skill file is invalid; the message says where and why."""


class StepKind(StrEnum):
    CLASSIFY = "classify"
    GATHER = "gather"
    MODEL = "model"
    POLICY = "policy"
    APPROVAL = "approval"
    ACT = "act"
    REPLY = "reply"


Condition = Literal["writes_proposed", "approved"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Budgets(Strict):
    max_tool_calls: int = Field(12, ge=0)
    max_model_calls: int = Field(3, ge=0)
    run_timeout_s: float = Field(1800.0, gt=0)


class Step(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")
    kind: StepKind
    route: str | None = None
    when: Condition | None = None

    @model_validator(mode="after")
    def _route_only_for_model(self) -> "Step":
        if self.kind is StepKind.MODEL and not self.route:
            raise ValueError(f"step {self.id!r}: a model step needs a route")
        if self.kind is not StepKind.MODEL and self.route:
            raise ValueError(f"step {self.id!r}: only model steps take a route")
        return self


class WorkflowSpec(Strict):
    version: Literal[1]
    name: str
    budgets: Budgets = Field(default_factory=Budgets)
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
        for single in (StepKind.CLASSIFY, StepKind.POLICY, StepKind.APPROVAL, StepKind.ACT):
            if kinds.count(single) > 1:
                raise ValueError(f"at most one {single.value!r} step is allowed")
        if StepKind.ACT in kinds:
            if StepKind.APPROVAL not in kinds or kinds.index(StepKind.APPROVAL) > kinds.index(
                StepKind.ACT
            ):
                raise ValueError("an 'act' step needs an 'approval' step before it")
        return self

    def index_of(self, kind: StepKind) -> int:
        return next(i for i, step in enumerate(self.steps) if step.kind is kind)


class GatherCall(Strict):
    tool: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
    args: dict[str, Any] = Field(default_factory=dict)
    # A human title for the evidence this call yields (templates allowed); not sent to the tool.
    label: str | None = None


class Skill(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,40}$")
    version: str
    description: str
    # Lower runs first; the first skill whose pattern matches wins. No patterns = fallback.
    priority: int = 100
    match: list[str] = Field(default_factory=list)
    instructions: str
    gather: list[GatherCall] = Field(default_factory=list)
    write_tools: list[str] = Field(default_factory=list)

    @field_validator("match")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                raise ValueError(f"invalid regex {pattern!r}: {exc}") from exc
        return patterns

    @field_validator("write_tools")
    @classmethod
    def _known_writes(cls, tools: list[str]) -> list[str]:
        unknown = [tool for tool in tools if tool not in WRITE_TOOLS]
        if unknown:
            raise ValueError(f"unknown write tools {unknown}; known: {sorted(WRITE_TOOLS)}")
        return tools

    def matches(self, text: str) -> bool:
        return any(re.search(pattern, text, re.IGNORECASE) for pattern in self.match)


def _problems(exc: ValidationError) -> str:
    return describe(exc, limit=50, with_input=True)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc


def load_workflow(path: Path) -> WorkflowSpec:
    data = _read_yaml(path)
    try:
        return WorkflowSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid workflow file {path}: {_problems(exc)}") from exc


def load_skills(folder: Path) -> list[Skill]:
    """Every *.yaml in `folder`, ordered by (priority, name); at least one fallback."""
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    if not files:
        raise ConfigError(f"no skill files (*.yaml) in {folder}")
    skills = []
    for path in files:
        try:
            skills.append(Skill.model_validate(_read_yaml(path)))
        except ValidationError as exc:
            raise ConfigError(f"invalid skill file {path}: {_problems(exc)}") from exc
    names = [skill.name for skill in skills]
    if len(set(names)) != len(names):
        raise ConfigError(f"duplicate skill names in {folder}: {names}")
    if not any(not skill.match for skill in skills):
        raise ConfigError(f"no fallback skill (one without 'match' patterns) in {folder}")
    return sorted(skills, key=lambda skill: (skill.priority, skill.name))
