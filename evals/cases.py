"""Eval cases: one folder per case holding a `test_case.yaml` (the HolmesGPT layout).

A folder per case keeps each case's extra files (a long pasted question, notes) beside
it, and adding a case never touches code. The schema is strict (`extra="forbid"`): a
misspelt expectation would otherwise be silently ignored and the case would pass while
checking nothing. A bad file fails loading with its path, the field and the reason.
"""

import difflib
import re
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
    REPLAY = "replay"
    RED_TEAM = "red-team"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expect(_Strict):
    """What must be true of the run. Every field is optional: unset means 'not checked'."""

    reply_contains: list[str] = Field(default_factory=list)
    reply_not_contains: list[str] = Field(default_factory=list)
    skill: str | None = Field(None, description="name@version, e.g. incident@1")
    tools_called: list[str] = Field(default_factory=list, description="a subset of the calls")
    approval_proposed: bool | None = None
    audit_not_contains: list[str] = Field(default_factory=list)
    policy_findings: list[str] = Field(default_factory=list)
    max_reply_chars: int | None = Field(None, ge=1, description="per posted message")

    @field_validator("skill")
    @classmethod
    def _skill_format(cls, value: str | None) -> str | None:
        if value is not None and not _SKILL.match(value):
            raise ValueError(f"must look like name@version (e.g. incident@1), not {value!r}")
        return value

    @field_validator("reply_contains", "reply_not_contains", "tools_called",
                     "audit_not_contains", "policy_findings")
    @classmethod
    def _no_empty_strings(cls, values: list[str]) -> list[str]:
        if any(not v.strip() for v in values):
            raise ValueError("empty strings match everything; remove them")
        return values


class CaseSpec(_Strict):
    """The content of one `test_case.yaml`."""

    description: str = ""
    question: str | None = None
    question_file: str | None = Field(None, description="a file beside test_case.yaml")
    user: str = "U_REQUESTER"
    kind: Kind = Kind.MENTION
    tags: list[Tag] = Field(min_length=1)
    expect: Expect
    known_failure: str | None = Field(
        None, description="why the system fails this today; the gate lists it separately")

    @model_validator(mode="after")
    def _one_question(self) -> "CaseSpec":
        if (self.question is None) == (self.question_file is None):
            raise ValueError("give exactly one of `question` or `question_file`")
        if self.question is not None and not self.question.strip():
            raise ValueError("`question` is empty")
        if self.known_failure is not None and not self.known_failure.strip():
            raise ValueError("`known_failure` must say why the case fails")
        return self


class Case(_Strict):
    """A loaded case: its folder name, its spec and the question text resolved."""

    name: str
    path: Path
    spec: CaseSpec
    text: str

    @property
    def tags(self) -> list[str]:
        return [t.value for t in self.spec.tags]


def load_case(folder: Path) -> Case:
    path = folder / CASE_FILE
    if not _NAME.match(folder.name):
        raise CaseError(f"{folder}: case folder names are lower-case-with-dashes")
    data = _read_yaml(path)
    try:
        spec = CaseSpec.model_validate(data)
    except ValidationError as exc:
        raise CaseError(f"{path}: invalid case\n{_explain(exc)}") from None
    return Case(name=folder.name, path=path, spec=spec, text=_question(spec, folder))


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


def _question(spec: CaseSpec, folder: Path) -> str:
    if spec.question is not None:
        return spec.question
    assert spec.question_file is not None
    file = (folder / spec.question_file).resolve()
    if folder.resolve() not in file.parents:
        raise CaseError(f"{folder / CASE_FILE}: question_file must stay inside the case folder")
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CaseError(f"{folder / CASE_FILE}: question_file {spec.question_file} "
                        "not found") from None
    if not text.strip():
        raise CaseError(f"{file}: the question file is empty")
    return text


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
    model: type[BaseModel] = Expect if loc[:1] == ("expect",) else CaseSpec
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
