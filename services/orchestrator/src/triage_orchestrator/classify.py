"""What a question is about, without a model: which configured repository it names, which
repositories it names that this workspace does not serve, which skills its keywords hint
at, and the prompt that lets a model pick the skill. Pure, so it is repeatable in tests."""

import re
from typing import Any

from triage_contracts.messages import ChatMessage
from triage_contracts.redact import redact_text

from .skills import Skill
from .state import RunConfig

_TEMPLATE = re.compile(r"\{(repo|service|question)\}")
# owner/name as people write it (not inside URLs: those are matched whole below)
_OWNER_NAME = re.compile(r"(?<![\w./-])([A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)(?![\w/-])")
# a bare name that reads like a service repository: checkout-api, billing-service...
_SERVICE_NAME = re.compile(r"(?<![\w/-])([a-z][a-z0-9]*(?:-[a-z0-9]+)*-"
                           r"(?:api|service|svc|web|app|worker|gateway))(?![\w-])")


def pick_repo(text: str, config: RunConfig) -> str | None:
    """The configured repo named in the text (owner/name first, then name); else the default
    when the text names no other repository; else the only configured one."""
    lowered = text.lower()
    for repo in config.repos:
        if repo.lower() in lowered:
            return repo
    for repo in config.repos:
        name = repo.split("/")[-1].lower()
        if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", lowered):
            return repo
    if unknown_repos(text, config):
        return None  # never silently answer about another repository
    return config.default_repo or (config.repos[0] if len(config.repos) == 1 else None)


def unknown_repos(text: str, config: RunConfig) -> list[str]:
    """Repositories the text names (owner/name, or a service-like name) that are not
    configured for this workspace."""
    known = {r.lower() for r in config.repos}
    names = {r.split("/")[-1].lower() for r in config.repos}
    found: list[str] = []
    for candidate in _OWNER_NAME.findall(text):
        if candidate.lower() not in known and not candidate.lower().startswith("http"):
            found.append(candidate)
    for candidate in _SERVICE_NAME.findall(text.lower()):
        if candidate not in names and not any(candidate in f.lower() for f in found):
            found.append(candidate)
    return list(dict.fromkeys(found))[:5]


def hinted(text: str, skills: list[Skill]) -> list[Skill]:
    """Skills whose keyword hints match, in priority order (the offline rules take the
    first); the fallback skills come last."""
    matching = [skill for skill in skills if skill.match and skill.matches(text)]
    return matching + [skill for skill in skills if skill.fallback]


def skill_named(answer: str, skills: list[Skill]) -> Skill | None:
    """The skill a model's answer names (the first known name in it)."""
    words = re.findall(r"[a-z][a-z0-9-]*", answer.lower())
    by_name = {skill.name: skill for skill in skills}
    return next((by_name[w] for w in words if w in by_name), None)


def classify_messages(question: str, skills: list[Skill], hints: list[Skill]
                      ) -> list[ChatMessage]:
    """The prompt of the classify step: the skills with their descriptions (and keyword
    hints, which the offline rules read), the question as data; answer = one skill name."""
    lines = [f"- {s.name}: {s.description}" for s in skills]
    hint = ", ".join(s.name for s in hints if not s.fallback) or "none"
    system = ("Pick the one skill (runbook) that best fits an engineer's question. Answer with "
              "the skill's name only.\nSkills:\n" + "\n".join(lines)
              + f"\nKeyword hints (may be wrong): {hint}")
    # Redacted like every prompt: nothing secret may reach a model provider.
    return [ChatMessage(role="system", content=redact_text(system)),
            ChatMessage(role="user", content=redact_text(f"<question>{question}</question>"))]


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
