"""Issues and pull requests: search, list, read one (with its latest comments or its
changed files), and the one write: a comment, found again by its marker (in the bot's own
comments only) after a crash."""

from datetime import datetime
from itertools import islice
from typing import Any

from github.GithubObject import NotSet

from . import shapes
from .session import MAX_PER_PAGE, GitHubSession

# A kind filter is applied to GitHub's list client-side: never scan more than this.
SCAN_LIMIT = 300


class IssuesClient:
    def __init__(self, session: GitHubSession) -> None:
        self.session = session

    async def search_issues(self, repo: str, query: str, state: str,
                            limit: int) -> list[dict[str, Any]]:
        qualifiers = f"repo:{repo}" + ("" if state == "all" else f" is:{state}")
        q = f"{qualifiers} {query}".strip()

        def run() -> list[dict[str, Any]]:
            found = self.session.github(limit).search_issues(q)
            return [shapes.issue(i) for i in islice(found, limit)]

        return await self.session.call(f"search_issues({q!r})", run)

    async def list_issues(self, repo: str, state: str, labels: list[str], kind: str,
                          since: datetime | None, limit: int) -> list[dict[str, Any]]:
        """Newest update first; `kind` keeps issues or pull requests only."""
        def run() -> list[dict[str, Any]]:
            listed = self.session.github(MAX_PER_PAGE if kind != "all" else limit) \
                .get_repo(repo).get_issues(state=state, labels=labels or NotSet,
                                           since=shapes.utc(since) or NotSet, sort="updated",
                                           direction="desc")
            items = (shapes.issue(i) for i in islice(listed, SCAN_LIMIT))
            wanted = (i for i in items if kind == "all"
                      or i["is_pull_request"] == (kind == "pr"))
            return list(islice(wanted, limit))

        pages = 1 if kind == "all" else SCAN_LIMIT // MAX_PER_PAGE
        return await self.session.call(f"list_issues({repo})", run, requests_made=pages)

    async def get_issue(self, repo: str, number: int, comments: int) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            issue = self.session.github(max(comments, 1)).get_repo(repo).get_issue(number)
            latest = list(islice(issue.get_comments().reversed, comments)) if comments \
                and issue.comments else []
            return shapes.issue_detail(issue, list(reversed(latest)))

        return await self.session.call(f"get_issue({repo}#{number})", run, requests_made=4,
                                       missing=f"issue #{number} of {repo}")

    async def get_pull(self, repo: str, number: int, files: int) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            pull = self.session.github(max(files, 1)).get_repo(repo).get_pull(number)
            changed = list(islice(pull.get_files(), files)) if files else []
            return shapes.pull(pull, changed)

        return await self.session.call(f"get_pull({repo}#{number})", run, requests_made=2,
                                       missing=f"pull request #{number} of {repo}")

    async def find_comment(self, repo: str, number: int, marker: str) -> dict[str, Any] | None:
        """The bot's own issue comment carrying `marker` (a write done before a crash).
        Anyone who can comment can copy a marker: only the bot's own comments count."""
        login = (await self.session.bot_login()).lower()

        def run() -> dict[str, Any] | None:
            issue = self.session.github(MAX_PER_PAGE).get_repo(repo).get_issue(number)
            found = next((c for c in issue.get_comments() if marker in (c.body or "")
                          and c.user is not None and c.user.login.lower() == login), None)
            return None if found is None else {"comment_id": found.id, "url": found.html_url}

        return await self.session.call(f"list comments of {repo}#{number}", run,
                                       missing=f"issue #{number} of {repo}")

    async def create_comment(self, repo: str, number: int, body: str) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            comment = self.session.github().get_repo(repo).get_issue(number).create_comment(body)
            return {"comment_id": comment.id, "url": comment.html_url}

        return await self.session.call(f"comment on {repo}#{number}", run,
                                       missing=f"issue #{number} of {repo}")
