"""GitHub connector over PyGithub (REST v3; github.com or GitHub Enterprise Server).

PyGithub is synchronous: every call runs whole in a worker thread (attribute access can
fetch lazily, so plain dicts are built there) under the tool timeout. PyGithub's own retries
are off: a retried POST could comment twice, and retrying is the registry's and JetStream's
job. Upstream 5xx, rate limits and timeouts become `TemporaryError`; other 4xx a `ToolError`
carrying GitHub's message, which a model can act on.
"""

import asyncio
import math
from collections.abc import Callable
from itertools import islice
from typing import Any, TypeVar

import requests
from github import Auth, Github, GithubException
from pydantic import SecretStr
from triage_contracts.errors import ErrorCode, TemporaryError

from ..errors import ToolError

T = TypeVar("T")
MAX_PER_PAGE = 100


class GitHubClient:
    def __init__(self, api_url: str, token: SecretStr | None, timeout_s: float) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.timeout_s = timeout_s

    def _github(self, per_page: int = 30) -> Github:
        # One client per call: PyGithub's requester is not meant to be shared by threads.
        auth = Auth.Token(self._token.get_secret_value()) if self._token else None
        return Github(base_url=self.api_url, auth=auth, timeout=math.ceil(self.timeout_s),
                      retry=None, lazy=True, per_page=max(1, min(per_page, MAX_PER_PAGE)))

    async def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return await asyncio.wait_for(asyncio.to_thread(fn), self.timeout_s)
        except TimeoutError as exc:
            raise TemporaryError(f"GitHub did not answer {what} within {self.timeout_s}s") from exc
        except GithubException as exc:
            raise _mapped(what, exc) from exc
        except requests.RequestException as exc:
            raise TemporaryError(f"GitHub unreachable for {what}: {type(exc).__name__}") from exc

    # Lists are cut with islice: PyGithub 2.10's slice of an empty list raises IndexError.

    async def search_issues(self, repo: str, query: str, state: str,
                            limit: int) -> list[dict[str, Any]]:
        qualifiers = f"repo:{repo}" + ("" if state == "all" else f" is:{state}")
        q = f"{qualifiers} {query}".strip()

        def run() -> list[dict[str, Any]]:
            return [_issue(i) for i in islice(self._github(limit).search_issues(q), limit)]

        return await self._call(f"search_issues({q!r})", run)

    async def recent_commits(self, repo: str, limit: int) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            commits = self._github(limit).get_repo(repo).get_commits()
            return [_commit(c) for c in islice(commits, limit)]

        return await self._call(f"recent_commits({repo})", run)

    async def workflow_runs(self, repo: str, limit: int) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            runs = self._github(limit).get_repo(repo).get_workflow_runs()
            return [_run(r) for r in islice(runs, limit)]

        return await self._call(f"workflow_runs({repo})", run)

    async def find_comment(self, repo: str, number: int, marker: str) -> dict[str, Any] | None:
        """The issue comment whose body carries `marker` (a write done before a crash)."""
        def run() -> dict[str, Any] | None:
            issue = self._github(MAX_PER_PAGE).get_repo(repo).get_issue(number)
            found = next((c for c in issue.get_comments() if marker in (c.body or "")), None)
            return None if found is None else {"comment_id": found.id, "url": found.html_url}

        return await self._call(f"list comments of {repo}#{number}", run)

    async def create_comment(self, repo: str, number: int, body: str) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            comment = self._github().get_repo(repo).get_issue(number).create_comment(body)
            return {"comment_id": comment.id, "url": comment.html_url}

        return await self._call(f"comment on {repo}#{number}", run)


def _mapped(what: str, exc: GithubException) -> Exception:
    data = exc.data if isinstance(exc.data, dict) else {}
    message = exc.message or data.get("message") or "no message"
    text = f"GitHub answered {exc.status} to {what}: {message}"
    rate_limited = exc.status == 429 or (exc.status == 403 and "rate limit" in text.lower())
    if exc.status >= 500 or rate_limited:
        retry_after = (exc.headers or {}).get("retry-after")
        delay = float(retry_after) if retry_after and retry_after.isdigit() else None
        return TemporaryError(text, ErrorCode.UPSTREAM_UNAVAILABLE, delay=delay)
    if exc.status == 404:
        text += " (the repository or issue does not exist, or the token cannot see it)"
    return ToolError(text, ErrorCode.UPSTREAM_REJECTED)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _issue(issue: Any) -> dict[str, Any]:
    return {
        "number": issue.number, "title": issue.title, "state": issue.state,
        "url": issue.html_url,
        # GitHub lists PRs as issues; their web URL (always present) says which is which.
        "is_pull_request": "/pull/" in (issue.html_url or ""),
        "labels": [label.name for label in issue.labels],
        "updated_at": _iso(issue.updated_at),
        "author": issue.user.login if issue.user else None,
    }


def _commit(commit: Any) -> dict[str, Any]:
    git = commit.commit
    author = commit.author.login if commit.author else git.author.name
    return {"sha": commit.sha, "message": git.message, "author": author,
            "date": _iso(git.author.date), "url": commit.html_url}


def _run(run: Any) -> dict[str, Any]:
    return {"id": run.id, "name": run.name, "head_sha": run.head_sha,
            "head_branch": run.head_branch, "status": run.status,
            "conclusion": run.conclusion, "url": run.html_url,
            "created_at": _iso(run.created_at), "run_number": run.run_number}
