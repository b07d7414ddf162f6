"""Subject names. Every subject carries the Slack team id so a workspace can be isolated,
throttled and deployed separately (the operator scopes consumers by team)."""

import re

from .errors import ErrorCode, PermanentError

PREFIX = "triage"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def token(value: str) -> str:
    """A value safe to use as one subject token (no dots, wildcards or spaces)."""
    if not _TOKEN.match(value):
        raise PermanentError(f"not a valid subject token: {value!r}", ErrorCode.INVALID_MESSAGE)
    return value


def event(team: str, kind: str) -> str:
    return f"{PREFIX}.event.{token(team)}.{token(kind)}"


def work(kind: str, team: str, name: str) -> str:
    if kind not in ("tool", "model", "notify"):
        raise ValueError(f"unknown work kind {kind!r}")
    return f"{PREFIX}.work.{kind}.{token(team)}.{token(name)}"


def result(team: str, run_id: str) -> str:
    return f"{PREFIX}.result.{token(team)}.{token(run_id)}"


def approval_request(team: str) -> str:
    return f"{PREFIX}.approval.request.{token(team)}"


def approval_decision(team: str) -> str:
    return f"{PREFIX}.approval.decision.{token(team)}"


def audit(team: str, service: str) -> str:
    return f"{PREFIX}.audit.{token(team)}.{token(service)}"


def install(team: str, kind: str) -> str:
    """A workspace's install or removal (`messages.InstallEvent`)."""
    return f"{PREFIX}.install.{token(team)}.{token(kind)}"


def dead_letter(team: str, service: str) -> str:
    return f"{PREFIX}.dlq.{token(team)}.{token(service)}"


def team_of(subject: str) -> str:
    """The team token of any triage subject (position depends on the family)."""
    parts = subject.split(".")
    family = parts[1]
    index = {"event": 2, "install": 2, "result": 2, "audit": 2, "dlq": 2, "work": 3,
             "approval": 3}[family]
    return parts[index]
