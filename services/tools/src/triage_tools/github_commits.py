"""GitHub history: recent commits (by time, path or branch), the pull requests that contain
a commit, and the comparison of two references (what changed between good and bad)."""

from typing import Any

from triage_contracts.tools import CommitPullsArgs, CompareArgs, RecentCommitsArgs

from .clients.github.commits import CommitsClient
from .github_access import READ, RepoAccess
from .registry import CallContext, Tool


class CommitTools:
    def __init__(self, client: CommitsClient, access: RepoAccess) -> None:
        self.client = client
        self.access = access

    async def recent_commits(self, args: RecentCommitsArgs, _: CallContext) -> list[Any]:
        self.access.check(args.repo)
        return await self.client.recent_commits(args.repo, args.limit, since=args.since,
                                                until=args.until, path=args.path,
                                                branch=args.branch)

    async def commit_pulls(self, args: CommitPullsArgs, _: CallContext) -> list[Any]:
        self.access.check(args.repo)
        return await self.client.commit_pulls(args.repo, args.sha)

    async def compare(self, args: CompareArgs, _: CallContext) -> dict[str, Any]:
        self.access.check(args.repo)
        return await self.client.compare(args.repo, args.base, args.head, args.limit)

    def tools(self, timeout_s: float) -> list[Tool]:
        off = self.access.disabled()
        return [
            Tool.of("github.recent_commits", self.recent_commits, scopes=("contents:read",),
                    timeout_s=timeout_s, rate=READ, disabled=off),
            Tool.of("github.commit_pulls", self.commit_pulls,
                    scopes=("contents:read", "pull_requests:read"), timeout_s=timeout_s,
                    rate=READ, disabled=off),
            Tool.of("github.compare", self.compare, scopes=("contents:read",),
                    timeout_s=timeout_s, rate=READ, disabled=off),
        ]
