"""The GitHub tools: read issues, commits and CI runs; comment on an issue (a WRITE).

Every tool refuses repositories outside GITHUB_REPOS before any request is made, and the
search query may not widen its own scope with `repo:`/`org:`/`user:` qualifiers (GitHub ORs
them, which would read repositories the allow-list excludes).
"""

from typing import Any

from triage_contracts.errors import ErrorCode
from triage_contracts.tools import (
    CommentIssueArgs,
    RecentCommitsArgs,
    SearchIssuesArgs,
    WorkflowRunsArgs,
)

from .clients.github import GitHubClient
from .errors import ToolError
from .registry import CallContext, RateLimit, Tool


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
            Tool.of("github.search_issues", self.search_issues,
                    scopes=("issues:read", "pull_requests:read"), timeout_s=timeout_s,
                    rate=read),
            Tool.of("github.recent_commits", self.recent_commits, scopes=("contents:read",),
                    timeout_s=timeout_s, rate=read),
            Tool.of("github.workflow_runs", self.workflow_runs, scopes=("actions:read",),
                    timeout_s=timeout_s, rate=read),
            # Two requests (find the marker, post); retries stay with JetStream.
            Tool.of("github.comment_issue", self.comment_issue, scopes=("issues:write",),
                    timeout_s=2 * timeout_s, rate=RateLimit(per_second=0.5, burst=3),
                    retries=0),
        ]
