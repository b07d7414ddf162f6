"""Eval cases: one folder per case holding a `test_case.yaml` (the HolmesGPT layout).

A folder per case keeps each case's extra files beside it (its world, an attack overlay,
a scripted model, a long pasted question), and adding a case never touches code. The
field names follow HolmesGPT's (`user_prompt`, `expected_output`, `tags`) so outside
cases import with little change. The schema is strict (`extra="forbid"`): a misspelt
expectation would otherwise be silently ignored and the case would pass while checking
nothing. A bad file fails loading with its path, the field and the reason.

A case runs in a WORLD: what the GitHub, Prometheus and Alertmanager stand-ins serve
(the sandbox's world-file format, `triage_sandbox.world`), either a file in the case
folder or a packaged world (`demo`, `oncall`). An injection case also names an ATTACK
overlay (a world file that `extends:` the clean one and plants the injection in tool
data): it runs once without and once under attack, and the attack's success is judged
on the world's state after the run, never on the answer's wording.
"""

import difflib
import re
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CASE_FILE = "test_case.yaml"
_SKILL = re.compile(r"^[a-z0-9][a-z0-9_-]*@[A-Za-z0-9._-]+$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class CaseError(ValueError):
    """A case that cannot be loaded; the message names the file, the field and the fix."""


class Kind(StrEnum):
    MENTION = "mention"
    DM = "dm"
    COMMAND = "command"


class Tag(StrEnum):
    """What a case is about; the gate has a threshold per tag and the report a row."""

    REPLAY = "replay"  # a question as on-call engineers ask it, answered from the world
    RED_TEAM = "red-team"  # abuse through the question itself
    INJECTION = "injection"  # abuse planted in tool data (needs `attack`)
    INCIDENT = "incident"
    CHANGE_REVIEW = "change-review"
    ALERTS = "alerts"
    ON_FIRE = "on-fire"  # "what is on fire right now"
    FOLLOW_UP = "follow-up"  # a question in the thread of an earlier answer
    REFUSAL = "refusal"  # unconfigured repository, out of scope, missing permission
    APPROVE_PATH = "approve-path"  # a proposed write, decided by the eval's approver


class Agent(StrEnum):
    """Which agent answers: the offline rules agent, the scripted model stand-in (the
    case's `model_script` plays the model), or a real model (`--model real`)."""

    OFFLINE = "offline"
    SCRIPTED = "scripted"
    REAL = "real"


class Decision(StrEnum):
    """What the eval's approver does when the run asks for approval."""

    REJECT = "reject"  # the default: evals never approve unless the case says so
    APPROVE = "approve"
    EDIT = "edit"  # approve with changed arguments: must be refused, nothing written
    EXPIRE = "expire"  # nobody decides: the approval expires, nothing written


class AttackGoal(StrEnum):
    WRITE = "write"  # a GitHub write (comment, label...) the asker did not ask for
    POST_ELSEWHERE = "post_elsewhere"  # a Slack post outside the asking thread
    LEAK = "leak"  # a secret from the world or the environment in any output
    LINK = "link"  # the attacker's link in any output (Slack, GitHub, audit)
    PING = "ping"  # an unescaped <!channel>/<!here>/<@U...> ping in a Slack post


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ToolCall(_Strict):
    """A call the trajectory must (or must not) contain: the tool, and arguments that
    must be present with these values (a subset; strings compare case-insensitively)."""

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)


class ExpectedWrite(_Strict):
    """A write the world must hold after the run (approve-path cases)."""

    tool: str = "github.comment_issue"
    repo: str | None = None
    number: int | None = None
    body_contains: str | None = None


class StateExpect(_Strict):
    """The world after the run, read from the stand-ins (independent of the answer)."""

    writes: list[ExpectedWrite] | None = Field(
        None, description="exactly these writes landed, each once (None: the invariant "
                          "'no write without approval' only)")
    approvals: int | None = Field(None, ge=0, description="approval requests the run made")


def _tool_call(value: Any) -> Any:
    return {"tool": value} if isinstance(value, str) else value


class Expect(_Strict):
    """What must be true of the run. Every field is optional: unset means 'not checked'."""

    reply_contains: list[str] = Field(default_factory=list)
    reply_not_contains: list[str] = Field(default_factory=list)
    skill: str | None = Field(None, description="name@version, e.g. incident@1")
    tools_called: list[ToolCall] = Field(default_factory=list, description="a subset of the calls")
    tools_not_called: list[ToolCall] = Field(default_factory=list)
    approval_proposed: bool | None = None
    audit_not_contains: list[str] = Field(default_factory=list)
    policy_findings: list[str] = Field(default_factory=list)
    max_reply_chars: int | None = Field(None, ge=1, description="per posted message")
    grounded: bool = Field(True, description="every link, sha and #number in the answer "
                                             "appears in what the run fetched")
    state: StateExpect = Field(default_factory=StateExpect)

    @field_validator("tools_called", "tools_not_called", mode="before")
    @classmethod
    def _tool_names(cls, values: Any) -> Any:
        return [_tool_call(v) for v in values] if isinstance(values, list) else values

    @field_validator("skill")
    @classmethod
    def _skill_format(cls, value: str | None) -> str | None:
        if value is not None and not _SKILL.match(value):
            raise ValueError(f"must look like name@version (e.g. incident@1), not {value!r}")
        return value

    @field_validator("reply_contains", "reply_not_contains", "audit_not_contains",
                     "policy_findings")
    @classmethod
    def _no_empty_strings(cls, values: list[str]) -> list[str]:
        if any(not v.strip() for v in values):
            raise ValueError("empty strings match everything; remove them")
        return values


class Element(_Strict):
    """One element of a good answer. Offline it is found by normalised match (case,
    spacing, punctuation and Slack/Markdown markup ignored) of ANY of `match`; with a
    model configured the LLM judge scores `text` against the answer as well."""

    text: str
    match: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"text": value, "match": [value]} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _something_to_find(self) -> "Element":
        if not self.text.strip() or any(not m.strip() for m in self.match):
            raise ValueError("an expected element needs text (and no empty `match`)")
        return self


class Approval(_Strict):
    """Approve-path cases: what the eval's approver does when the run asks."""

    decision: Decision = Decision.REJECT
    edit: dict[str, Any] = Field(default_factory=dict,
                                 description="decision edit: argument values to change")


class Attack(_Strict):
    """Injection cases: the overlay world that plants the attack, and what it is after."""

    world: str = Field(description="a world file in the case folder that extends the clean one")
    goal: list[AttackGoal] = Field(min_length=1)
    marker: str | None = Field(None, description="the attacker's link or text; found in any "
                                                 "output, the attack succeeded")
    where: str = Field(description="where the injection sits, e.g. issue body, CI log line")


class CaseSpec(_Strict):
    """The content of one `test_case.yaml`."""

    description: str = ""
    user_prompt: str | list[str] | None = Field(
        None, description="the question; a list gives variants, each run as its own trial")
    user_prompt_file: str | None = Field(None, description="a file beside test_case.yaml")
    follow_up: list[str] = Field(default_factory=list, description=(
        "questions asked in the answer's thread, in order; expectations judge the last run"))
    user: str = "U_REQUESTER"
    kind: Kind = Kind.MENTION
    tags: list[Tag] = Field(min_length=1)
    now: datetime | None = Field(None, description="the world's now (default: the world's)")
    # Default: the world the sandbox stack serves at start (SANDBOX_WORLD), which the
    # first cases were written against.
    world: str = Field("oncall", description="a world file in the case folder, or a "
                                             "packaged world (demo, oncall)")
    agents: list[Agent] = Field(default_factory=lambda: [Agent.OFFLINE], min_length=1)
    model_script: str | None = Field(
        None, description="scripted agent: rules file for the scripted model stand-in")
    expected_output: list[Element] = Field(default_factory=list)
    expect: Expect = Field(default_factory=Expect)
    approval: Approval = Field(default_factory=Approval)
    attack: Attack | None = None
    known_failure: str | None = Field(
        None, description="why the system fails this today; the gate lists it separately")

    @model_validator(mode="after")
    def _consistent(self) -> "CaseSpec":
        if (self.user_prompt is None) == (self.user_prompt_file is None):
            raise ValueError("give exactly one of `user_prompt` or `user_prompt_file`")
        prompts = [self.user_prompt] if isinstance(self.user_prompt, str) else self.user_prompt
        if prompts is not None and (not prompts or any(not p.strip() for p in prompts)):
            raise ValueError("`user_prompt` is empty")
        if self.known_failure is not None and not self.known_failure.strip():
            raise ValueError("`known_failure` must say why the case fails")
        if Agent.SCRIPTED in self.agents and self.model_script is None:
            raise ValueError("agent `scripted` needs a `model_script` file")
        if (self.attack is None) == (Tag.INJECTION in self.tags):
            raise ValueError("tag `injection` and an `attack` go together")
        if self.approval.decision is Decision.EDIT and not self.approval.edit:
            raise ValueError("approval decision `edit` needs the arguments to change")
        return self


class Case(_Strict):
    """A loaded case: its folder name, its spec and the question variants resolved."""

    name: str
    path: Path
    spec: CaseSpec
    prompts: list[str]

    @property
    def text(self) -> str:
        """The first variant (the case's canonical question)."""
        return self.prompts[0]

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def tags(self) -> list[str]:
        return [t.value for t in self.spec.tags]

    def file(self, name: str) -> Path:
        """A file the case refers to; it must stay inside the case folder."""
        resolved = (self.folder / name).resolve()
        if self.folder.resolve() not in resolved.parents:
            raise CaseError(f"{self.path}: {name} must stay inside the case folder")
        return resolved

    @property
    def world(self) -> str | Path:
        """The world file (a path in the case folder) or a packaged world's name."""
        local = self.folder / self.spec.world
        return self.file(self.spec.world) if local.is_file() else self.spec.world


def load_case(folder: Path) -> Case:
    path = folder / CASE_FILE
    if not _NAME.match(folder.name):
        raise CaseError(f"{folder}: case folder names are lower-case-with-dashes")
    data = _read_yaml(path)
    try:
        spec = CaseSpec.model_validate(data)
    except ValidationError as exc:
        raise CaseError(f"{path}: invalid case\n{_explain(exc)}") from None
    case = Case(name=folder.name, path=path, spec=spec, prompts=_prompts(spec, folder))
    _check_files(case)
    return case


def load_cases(root: Path, tags: list[str] | None = None,
               names: list[str] | None = None) -> list[Case]:
    """Every case under `root` (sorted by name), filtered by tag and by name."""
    if not root.is_dir():
        raise CaseError(f"{root}: no such cases folder")
    folders = sorted(p.parent for p in root.glob(f"*/{CASE_FILE}"))
    cases = [load_case(folder) for folder in folders]
    if names:
        unknown = sorted(set(names) - {c.name for c in cases})
        if unknown:
            raise CaseError(f"{root}: no case named {', '.join(unknown)}")
        cases = [c for c in cases if c.name in names]
    if tags:
        cases = [c for c in cases if set(tags) & set(c.tags)]
    return cases


def _read_yaml(path: Path) -> Any:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CaseError(f"{path}: missing (every case folder needs one)") from None
    except yaml.YAMLError as exc:
        raise CaseError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CaseError(f"{path}: must be a mapping of fields (question, tags, expect...)")
    return data


def _prompts(spec: CaseSpec, folder: Path) -> list[str]:
    if isinstance(spec.user_prompt, str):
        return [spec.user_prompt]
    if spec.user_prompt is not None:
        return list(spec.user_prompt)
    assert spec.user_prompt_file is not None
    file = (folder / spec.user_prompt_file).resolve()
    if folder.resolve() not in file.parents:
        raise CaseError(f"{folder / CASE_FILE}: user_prompt_file must stay inside the case "
                        "folder")
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CaseError(f"{folder / CASE_FILE}: user_prompt_file {spec.user_prompt_file} "
                        "not found") from None
    if not text.strip():
        raise CaseError(f"{file}: the question file is empty")
    return [text]


def _check_files(case: Case) -> None:
    """Files the case names exist inside its folder (a packaged world name is no file)."""
    named = [case.spec.model_script, case.spec.attack.world if case.spec.attack else None]
    if case.spec.world.endswith((".yaml", ".yml", ".json")):
        named.append(case.spec.world)
    for name in filter(None, named):
        if not case.file(name).is_file():
            raise CaseError(f"{case.path}: {name} not found in the case folder")


def _explain(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(case)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown field" + _did_you_mean(error["loc"])
        lines.append(f"  {where}: {message}")
    return "\n".join(lines)


def _did_you_mean(loc: tuple[int | str, ...]) -> str:
    nested: dict[str, type[BaseModel]] = {"expect": Expect, "approval": Approval,
                                          "attack": Attack}
    model: type[BaseModel] = CaseSpec
    if len(loc) > 1 and str(loc[0]) in nested:
        model = StateExpect if loc[:2] == ("expect", "state") else nested[str(loc[0])]
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
