"""Skills: versioned runbooks in the SKILL.md convention, one folder per skill.

`skills/<name>/SKILL.md` holds YAML front matter (name, description, version, the tools it
allows, optional prefetch calls and keyword hints) and a Markdown body: the runbook the
model follows. The model picks a skill from the descriptions (keyword hints pre-filter and
are what the offline rules use). A skill is identified by the SHA-256 of its file, so a
workspace can pin exactly the content it reviewed (`SKILLS=incident@<hash prefix>,...`): a
pin that no longer matches stops the start instead of silently running other text.
"""

import hashlib
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ConfigDict, Field, ValidationError, field_validator
from triage_contracts.tools import TOOLS, WRITE_TOOLS, Access

from .spec import ConfigError, Strict, problems

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n?(.*)\Z", re.DOTALL)
MIN_PIN = 12  # hex characters of a pinned hash


class PrefetchCall(Strict):
    tool: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
    args: dict[str, Any] = Field(default_factory=dict)


class Skill(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,40}$")
    version: str
    description: str = Field(min_length=1, max_length=1024)
    # Lower is preferred when keyword hints match several skills; no hints = fallback.
    priority: int = 100
    match: list[str] = Field(default_factory=list)
    # Read tools the model is offered (empty: every read tool of the workspace).
    tools: list[str] = Field(default_factory=list, alias="allowed-tools")
    write_tools: list[str] = Field(default_factory=list, alias="write-tools")
    prefetch: list[PrefetchCall] = Field(default_factory=list)
    instructions: str = ""
    sha256: str = ""

    @field_validator("match")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                raise ValueError(f"invalid regex {pattern!r}: {exc}") from exc
        return patterns

    @field_validator("tools")
    @classmethod
    def _known_reads(cls, tools: list[str]) -> list[str]:
        bad = [t for t in tools if t not in TOOLS or TOOLS[t].access is not Access.READ]
        if bad:
            raise ValueError(f"unknown read tools {bad}; known: {sorted(_reads())}")
        return tools

    @field_validator("write_tools")
    @classmethod
    def _known_writes(cls, tools: list[str]) -> list[str]:
        unknown = [tool for tool in tools if tool not in WRITE_TOOLS]
        if unknown:
            raise ValueError(f"unknown write tools {unknown}; known: {sorted(WRITE_TOOLS)}")
        return tools

    @property
    def fallback(self) -> bool:
        return not self.match

    def matches(self, text: str) -> bool:
        return any(re.search(pattern, text, re.IGNORECASE) for pattern in self.match)

    def read_tools(self) -> list[str]:
        return list(self.tools) or sorted(_reads())


def _reads() -> set[str]:
    return {name for name, tool in TOOLS.items() if tool.access is Access.READ}


def parse_skill(text: str, where: str) -> Skill:
    found = _FRONT_MATTER.match(text)
    if found is None:
        raise ConfigError(f"{where}: no YAML front matter (a SKILL.md starts with ---)")
    try:
        meta = yaml.safe_load(found.group(1)) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise ConfigError(f"{where}: front matter must be a mapping")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    try:
        return Skill.model_validate(
            {**meta, "instructions": found.group(2).strip(), "sha256": digest})
    except ValidationError as exc:
        raise ConfigError(f"invalid skill file {where}: {problems(exc)}") from exc


def skill_files(folder: Path) -> list[Path]:
    """`<name>/SKILL.md` (the convention), or `<name>.SKILL.md` side by side: the form a
    Kubernetes ConfigMap mounts them in (its keys cannot hold a `/`)."""
    return sorted([*folder.glob("*/SKILL.md"), *folder.glob("*.SKILL.md")])


def load_skills(folder: Path, pins: str = "") -> list[Skill]:
    """Every skill file under `folder`, ordered by (priority, name), restricted to the
    pinned ones when `pins` is set; at least one fallback skill must remain."""
    files = skill_files(folder)
    if not files:
        raise ConfigError(f"no skills (*/SKILL.md or *.SKILL.md) in {folder}")
    skills = [parse_skill(_read(path), str(path)) for path in files]
    names = [skill.name for skill in skills]
    if len(set(names)) != len(names):
        raise ConfigError(f"duplicate skill names in {folder}: {names}")
    if pins.strip():
        skills = pinned(skills, pins)
    if not any(skill.fallback for skill in skills):
        raise ConfigError(f"no fallback skill (one without 'match' hints) in {folder}")
    return sorted(skills, key=lambda skill: (skill.priority, skill.name))


def pinned(skills: list[Skill], pins: str) -> list[Skill]:
    """The skills named in `pins` (`name` or `name@<sha256 prefix>`, comma-separated)."""
    by_name = {skill.name: skill for skill in skills}
    chosen = []
    for pin in (p.strip() for p in pins.split(",") if p.strip()):
        name, _, digest = pin.partition("@")
        skill = by_name.get(name)
        if skill is None:
            raise ConfigError(f"pinned skill {name!r} does not exist; known: {sorted(by_name)}")
        digest = digest.removeprefix("sha256:").lower()
        if digest and (len(digest) < MIN_PIN or not skill.sha256.startswith(digest)):
            raise ConfigError(f"skill {name!r} is pinned to {digest[:16]}… but its file hashes "
                              f"to {skill.sha256[:16]}…: review the change and update the pin")
        chosen.append(skill)
    return chosen


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def listing(skills: list[Skill]) -> str:
    """What `python -m triage_orchestrator skills` prints: name, version, hash."""
    rows = [f"{s.name:<20} {s.version:<8} sha256:{s.sha256}" for s in skills]
    return "\n".join([f"{'NAME':<20} {'VERSION':<8} HASH", *rows])
