"""Commits: history with GitHub's filters, the pull requests that contain a commit, and the
comparison of two references."""

from datetime import datetime
from itertools import islice
from typing import Any

from github.GithubObject import NotSet

from . import shapes
from .session import GitHubSession


class CommitsClient:
    def __init__(self, session: GitHubSession) -> None:
        self.session = session

    async def recent_commits(self, repo: str, limit: int, since: datetime | None = None,
                             until: datetime | None = None, path: str | None = None,
                             branch: str | None = None) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            commits = self.session.github(limit).get_repo(repo).get_commits(
                sha=branch or NotSet, path=path or NotSet, since=shapes.utc(since) or NotSet,
                until=shapes.utc(until) or NotSet)
            return [shapes.commit(c) for c in islice(commits, limit)]

        where = f"{repo}@{branch}" if branch else repo
        return await self.session.call(f"recent_commits({where})", run)

    async def commit_pulls(self, repo: str, sha: str) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            pulls = self.session.github(30).get_repo(repo).get_commit(sha).get_pulls()
            return [shapes.pull_summary(p) for p in islice(pulls, 30)]

        return await self.session.call(f"commit_pulls({repo}@{sha})", run)

    async def compare(self, repo: str, base: str, head: str, limit: int) -> dict[str, Any]:
        """GitHub's `base...head`: commits oldest first, files as the comparison lists them."""
        def run() -> dict[str, Any]:
            found = self.session.github(limit).get_repo(repo).compare(
                base, head, comparison_commits_per_page=max(limit, 1))
            return {"status": found.status, "ahead_by": found.ahead_by,
                    "behind_by": found.behind_by, "total_commits": found.total_commits,
                    "url": found.html_url,
                    "commits": [shapes.commit(c) for c in islice(found.commits, limit)],
                    "files_changed": len(found.files),
                    "files": [shapes.file(f) for f in found.files[:limit]]}

        return await self.session.call(f"compare({repo} {base}...{head})", run,
                                       missing=f"one of the refs {base!r}, {head!r} in {repo}")
