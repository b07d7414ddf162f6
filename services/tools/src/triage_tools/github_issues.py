"""GitHub issues and pull requests: search, list, read one (with comments, or with merge
data and changed files), and comment on one (a WRITE, run only with an approval).

The search query may not widen its own scope with `repo:`/`org:`/`user:` qualifiers (the
contracts refuse them: GitHub ORs them, which would read repositories the allow-list
excludes).
"""

from typing import Any

from triage_contracts.tools import (
    CommentIssueArgs,
    GetIssueArgs,
    GetPullArgs,
    ListIssuesArgs,
    SearchIssuesArgs,
)

from .clients.github.issues import IssuesClient
from .github_access import READ, SEARCH, WRITE, RepoAccess
from .registry import CallContext, Tool

ISSUES = ("issues:read", "pull_requests:read")


class IssueTools:
    def __init__(self, client: IssuesClient, access: RepoAccess) -> None:
        self.client = client
        self.access = access

    async def search_issues(self, args: SearchIssuesArgs, _: CallContext) -> list[Any]:
        self.access.check(args.repo)
        return await self.client.search_issues(args.repo, args.query, args.state, args.limit)

    async def list_issues(self, args: ListIssuesArgs, _: CallContext) -> list[Any]:
        self.access.check(args.repo)
        return await self.client.list_issues(args.repo, args.state, list(args.labels),
                                             args.kind, args.since, args.limit)

    async def get_issue(self, args: GetIssueArgs, _: CallContext) -> dict[str, Any]:
        self.access.check(args.repo)
        return await self.client.get_issue(args.repo, args.number, args.comments)

    async def get_pull(self, args: GetPullArgs, _: CallContext) -> dict[str, Any]:
        self.access.check(args.repo)
        return await self.client.get_pull(args.repo, args.number, args.files)

    async def comment_issue(self, args: CommentIssueArgs, ctx: CallContext) -> dict[str, Any]:
        """Post once: a comment carrying this step's marker is the proof it already exists."""
        self.access.check(args.repo)
        existing = await self.client.find_comment(args.repo, args.issue_number, ctx.marker)
        if existing is not None:
            return existing
        body = f"{args.body}\n\n{ctx.marker}"
        return await self.client.create_comment(args.repo, args.issue_number, body)

    def tools(self, timeout_s: float) -> list[Tool]:
        off = self.access.disabled()
        return [
            Tool.of("github.search_issues", self.search_issues, scopes=ISSUES,
                    timeout_s=timeout_s, rate=SEARCH, disabled=off),
            # A kind filter may page through up to three lists.
            Tool.of("github.list_issues", self.list_issues, scopes=ISSUES,
                    timeout_s=3 * timeout_s, rate=READ, disabled=off),
            # The issue, then the newest comments (the last page, maybe the one before).
            Tool.of("github.get_issue", self.get_issue, scopes=ISSUES,
                    timeout_s=4 * timeout_s, rate=READ, disabled=off),
            Tool.of("github.get_pull", self.get_pull, scopes=("pull_requests:read",),
                    timeout_s=2 * timeout_s, rate=READ, disabled=off),
            # Two requests (find the marker, post); retries stay with JetStream.
            Tool.of("github.comment_issue", self.comment_issue, scopes=("issues:write",),
                    timeout_s=2 * timeout_s, rate=WRITE, retries=0, disabled=off),
        ]
