"""Classification without a model: pick the skill by its patterns and the repository by
name. Deterministic and cheap, so it is repeatable in tests and costs nothing."""

import re
from dataclasses import dataclass
from typing import Any

from .spec import GatherCall, Skill
from .state import RunConfig

_TEMPLATE = re.compile(r"\{(repo|service|question)\}")


@dataclass(frozen=True)
class Classification:
    skill: Skill
    repo: str | None
    service: str | None


def pick_skill(text: str, skills: list[Skill]) -> Skill:
    """First matching skill in priority order; else the first fallback (no patterns)."""
    for skill in skills:
        if skill.match and skill.matches(text):
            return skill
    return next(skill for skill in skills if not skill.match)


def pick_repo(text: str, config: RunConfig) -> str | None:
    """The configured repo named in the text (owner/name first, then name), else the
    default, else the first configured one."""
    lowered = text.lower()
    for repo in config.repos:
        if repo.lower() in lowered:
            return repo
    for repo in config.repos:
        name = repo.split("/")[-1].lower()
        if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", lowered):
            return repo
    return config.default_repo or (config.repos[0] if config.repos else None)


def classify(text: str, skills: list[Skill], config: RunConfig) -> Classification:
    repo = pick_repo(text, config)
    service = repo.split("/")[-1] if repo else None
    return Classification(pick_skill(text, skills), repo, service)


def render(value: Any, values: dict[str, str | None]) -> Any:
    """Fill {repo}/{service}/{question} in strings (recursively). Other braces, such as
    PromQL label matchers, are left alone. A missing value raises KeyError."""
    if isinstance(value, str):
        def fill(match: re.Match[str]) -> str:
            found = values.get(match.group(1))
            if found is None:
                raise KeyError(match.group(1))
            return found

        return _TEMPLATE.sub(fill, value)
    if isinstance(value, dict):
        return {k: render(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, values) for v in value]
    return value


def render_call(call: GatherCall, values: dict[str, str | None]) -> tuple[dict[str, Any], str]:
    """(arguments, label) of one gather call; KeyError when a template value is missing."""
    args = render(call.args, values)
    label = render(call.label, values) if call.label else call.tool
    return args, label
