"""The GitHub tools: read issues, commits and CI runs; comment on an issue (a WRITE).

Every tool refuses repositories outside GITHUB_REPOS before any request is made, and the
search query may not widen its own scope with `repo:`/`org:`/`user:` qualifiers (GitHub ORs
them, which would read repositories the allow-list excludes).
"""

import re
from typing import Any, Literal

from pydantic import Field, field_validator
from triage_contracts.errors import ErrorCode

from .clients.github import GitHubClient
from .errors import ToolError
from .registry import Access, Arguments, CallContext, RateLimit, Tool

REPO = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
             description='"owner/name"; must be one of GITHUB_REPOS')
_SCOPE_QUALIFIER = re.compile(r"(?i)(?:^|\s)-?(repo|org|user|owner):")


class SearchIssuesArgs(Arguments):
    repo: str = REPO
    query: str = Field(max_length=256, description="free text and search qualifiers "
                       "(is:issue, is:pr, label:x); the repository is set by `repo`")
    state: Literal["open", "closed", "all"] = "open"
    limit: int = Field(10, ge=1, le=50)

    @field_validator("query")
    @classmethod
    def _no_scope_widening(cls, value: str) -> str:
        match = _SCOPE_QUALIFIER.search(value)
        if match:
            raise ValueError(f"the qualifier '{match.group(1)}:' is not allowed in query; "
                             "use the `repo` argument")
        return value


class RecentCommitsArgs(Arguments):
    repo: str = REPO
    limit: int = Field(10, ge=1, le=100)


class WorkflowRunsArgs(Arguments):
    repo: str = REPO
    limit: int = Field(5, ge=1, le=50)


class CommentIssueArgs(Arguments):
    repo: str = REPO
    issue_number: int = Field(ge=1)
    body: str = Field(min_length=1, max_length=60_000)


class GitHubTools:
    def __init__(self, client: GitHubClient, allowed_repos: list[str]) -> None:
        self.client = client
        self.allowed = list(allowed_repos)
        self._allowed = {r.lower() for r in allowed_repos}

    def check_repo(self, repo: str) -> None:
        if repo.lower() not in self._allowed:
            raise ToolError(f"repo {repo!r} is not in GITHUB_REPOS: {self.allowed}",
                            ErrorCode.POLICY_DENIED)

    async def search_issues(self, args: SearchIssuesArgs, _: CallContext) -> list[Any]:
        self.check_repo(args.repo)
        return await self.client.search_issues(args.repo, args.query, args.state, args.limit)

    async def recent_commits(self, args: RecentCommitsArgs, _: CallContext) -> list[Any]:
        self.check_repo(args.repo)
        return await self.client.recent_commits(args.repo, args.limit)

    async def workflow_runs(self, args: WorkflowRunsArgs, _: CallContext) -> list[Any]:
        self.check_repo(args.repo)
        return await self.client.workflow_runs(args.repo, args.limit)

    async def comment_issue(self, args: CommentIssueArgs, ctx: CallContext) -> dict[str, Any]:
        """Post once: a comment carrying this step's marker is the proof it already exists."""
        self.check_repo(args.repo)
        existing = await self.client.find_comment(args.repo, args.issue_number, ctx.marker)
        if existing is not None:
            return existing
        body = f"{args.body}\n\n{ctx.marker}"
        return await self.client.create_comment(args.repo, args.issue_number, body)

    def tools(self, timeout_s: float) -> list[Tool]:
        read = RateLimit(per_second=2.0, burst=10)  # GitHub: 5,000 requests/hour per token
        return [
            Tool("github.search_issues", "Search issues and pull requests of one repository "
                 "(title and body text, GitHub qualifiers).", SearchIssuesArgs,
                 self.search_issues, scopes=("issues:read", "pull_requests:read"),
                 timeout_s=timeout_s, rate=read),
            Tool("github.recent_commits", "The latest commits on the default branch, newest "
                 "first.", RecentCommitsArgs, self.recent_commits, scopes=("contents:read",),
                 timeout_s=timeout_s, rate=read),
            Tool("github.workflow_runs", "The latest GitHub Actions runs (CI) with their "
                 "conclusion and head commit.", WorkflowRunsArgs, self.workflow_runs,
                 scopes=("actions:read",), timeout_s=timeout_s, rate=read),
            Tool("github.comment_issue", "Comment on an issue or pull request. WRITE: runs "
                 "only with a human approval of exactly this comment.", CommentIssueArgs,
                 self.comment_issue, access=Access.WRITE, scopes=("issues:write",),
                 # Two requests (find the marker, post); retries stay with JetStream.
                 timeout_s=2 * timeout_s, rate=RateLimit(per_second=0.5, burst=3), retries=0),
        ]
