"""PyGithub objects as compact, model-friendly dicts: ISO timestamps, the web `url` (never
the API one), labels and people as names, bodies and patches cut to a readable length.

Each builder reads only attributes present in the payload it is given (list shapes lack
some of the single-object fields, and PyGithub would fetch the object again for them).
"""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

BODY_CHARS = 2_000  # an issue or pull request body
COMMENT_CHARS = 1_000  # one comment
MESSAGE_CHARS = 1_000  # one commit message
PATCH_CHARS = 3_000  # one file's patch
FRAGMENT_CHARS = 500  # one code search fragment


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def utc(value: datetime | None) -> datetime | None:
    """A time without a zone is taken as UTC (PyGithub formats times as if they were)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def excerpt(text: str | None, limit: int) -> str | None:
    """`text` cut to `limit` characters, saying how much was left out."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters]"


def login(user: Any) -> str | None:
    return user.login if user is not None else None


def names(labels: Iterable[Any]) -> list[str]:
    return [label.name for label in labels]


def issue(item: Any) -> dict[str, Any]:
    """An issue or pull request as issue lists and search show it."""
    return {
        "number": item.number, "title": item.title, "state": item.state,
        # GitHub lists PRs as issues; their web URL (always present) says which is which.
        "is_pull_request": "/pull/" in (item.html_url or ""), "url": item.html_url,
        "author": login(item.user), "labels": names(item.labels),
        "body": excerpt(item.body, BODY_CHARS), "comments": item.comments,
        "created_at": iso(item.created_at), "updated_at": iso(item.updated_at),
        "closed_at": iso(item.closed_at),
    }


def comment(item: Any) -> dict[str, Any]:
    return {"author": login(item.user), "created_at": iso(item.created_at),
            "body": excerpt(item.body, COMMENT_CHARS), "url": item.html_url}


def issue_detail(item: Any, latest: list[Any]) -> dict[str, Any]:
    """One issue with its assignees and its latest comments (oldest of them first)."""
    return {**issue(item), "assignees": [a.login for a in item.assignees],
            "latest_comments": [comment(c) for c in latest]}


def part(ref: Any) -> dict[str, Any]:
    return {"ref": ref.ref, "sha": ref.sha}


def pull_summary(item: Any) -> dict[str, Any]:
    """A pull request as lists show it (no merge details beyond merged_at)."""
    return {
        "number": item.number, "title": item.title, "state": item.state,
        "url": item.html_url, "author": login(item.user),
        "merged_at": iso(item.merged_at), "merge_commit_sha": item.merge_commit_sha,
        "base": part(item.base), "head": part(item.head), "created_at": iso(item.created_at),
    }


def pull(item: Any, files: list[Any]) -> dict[str, Any]:
    """One pull request with its merge data and changed files."""
    return {
        **pull_summary(item), "labels": names(item.labels), "draft": item.draft,
        "body": excerpt(item.body, BODY_CHARS), "merged": item.merged,
        "merged_by": login(item.merged_by), "additions": item.additions,
        "deletions": item.deletions, "changed_files": item.changed_files,
        "comments": item.comments, "updated_at": iso(item.updated_at),
        "closed_at": iso(item.closed_at), "files": [file(f) for f in files],
    }


def file(item: Any) -> dict[str, Any]:
    data = {"filename": item.filename, "status": item.status, "additions": item.additions,
            "deletions": item.deletions, "patch": excerpt(item.patch, PATCH_CHARS)}
    if item.previous_filename:
        data["previous_filename"] = item.previous_filename
    return data


def commit(item: Any) -> dict[str, Any]:
    git = item.commit
    author = item.author.login if item.author else git.author.name
    return {"sha": item.sha, "message": excerpt(git.message, MESSAGE_CHARS), "author": author,
            "date": iso(git.author.date), "url": item.html_url}


def run(item: Any) -> dict[str, Any]:
    return {"id": item.id, "run_number": item.run_number, "name": item.name,
            "status": item.status, "conclusion": item.conclusion, "head_sha": item.head_sha,
            "branch": item.head_branch, "url": item.html_url,
            "created_at": iso(item.created_at)}


def step(item: Any) -> dict[str, Any]:
    return {"number": item.number, "name": item.name, "status": item.status,
            "conclusion": item.conclusion, "started_at": iso(item.started_at),
            "completed_at": iso(item.completed_at)}


def job(item: Any) -> dict[str, Any]:
    return {"id": item.id, "name": item.name, "status": item.status,
            "conclusion": item.conclusion, "started_at": iso(item.started_at),
            "completed_at": iso(item.completed_at), "url": item.html_url,
            "steps": [step(s) for s in item.steps]}
