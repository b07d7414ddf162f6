"""What the GitHub stand-in holds between requests (the world, recorded calls, posted
comments, injected faults) and the errors it answers the way GitHub does."""

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from ..world.model import Person, Repo, World
from .app_model import Apps
from .limits import Limits

BOT = Person("triage-bot", "Triage Bot", 2001)
DOCS = "https://docs.github.com/rest"


class GitHubError(Exception):
    """Answered as GitHub's error body: `{"message", "documentation_url", "status"}`."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


class NotFound(GitHubError):
    def __init__(self) -> None:
        super().__init__(404, "Not Found")


def no_commit(ref: str) -> GitHubError:
    return GitHubError(422, f"No commit found for SHA: {ref}")


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    body = {"message": message, "documentation_url": DOCS, "status": str(status), **extra}
    return JSONResponse(body, status)


@dataclass
class Fault:
    status: int = 502
    count: int = 1
    delay_s: float = 0.0
    path: str = "/"  # prefix of the paths it applies to


@dataclass
class SandboxState:
    demo: World
    calls: list[dict[str, str]] = field(default_factory=list)
    posted: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    # Who each accepted token belongs to (empty: an open stand-in, every caller is BOT).
    tokens: dict[str, Person] = field(default_factory=dict)
    # GitHub's primary and secondary rate limits, per credential.
    limits: Limits = field(default_factory=Limits)
    # GitHub Apps and the installation tokens they minted (`apps.py`).
    apps: Apps = field(default_factory=Apps)
    next_comment_id: int = 910_000
    # Signs the short-lived log download URLs (GitHub's are pre-signed blob URLs).
    blob_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if path.startswith(fault.path) and fault.count > 0:
                fault.count -= 1
                return fault
        return None


def state(request: Request) -> SandboxState:
    return request.app.state.sandbox  # type: ignore[no-any-return]


def caller(request: Request) -> Person | None:
    """Whose token the request carries (BOT on an open stand-in; None: anonymous)."""
    return getattr(request.state, "caller", None)


def base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def found(request: Request, owner: str, name: str, number: int | None = None) -> Repo:
    repo = state(request).demo.repo(owner, name)
    if repo is None or (number is not None and repo.issue(number) is None):
        raise NotFound()
    return repo


def ts(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def parse_ts(value: str | None) -> datetime | None:
    """GitHub's ISO 8601 query parameters (`since`, `until`); None when absent."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise GitHubError(422, "Validation Failed", errors=[
            {"message": f"invalid time: {value}", "code": "invalid"}]) from None
