"""What every GitHub toolset shares: the repository allow-list, checked before any request,
the toolsets' prerequisites, and GitHub's rate limits.

The allow-list is the agent's boundary: a repository outside GITHUB_REPOS is refused with
the list (so a model can pick an allowed one), and nothing is sent to GitHub for it.
"""

from triage_contracts.errors import ErrorCode

from .errors import ToolError
from .registry import RateLimit

# GitHub: 5,000 requests/hour per token; search 30/minute; code search 10/minute.
READ = RateLimit(per_second=2.0, burst=10)
SEARCH = RateLimit(per_second=0.5, burst=5)
CODE_SEARCH = RateLimit(per_second=0.15, burst=3)
WRITE = RateLimit(per_second=0.5, burst=3)


class RepoAccess:
    def __init__(self, repos: list[str], has_token: bool) -> None:
        self.allowed = list(repos)
        self._allowed = {r.lower() for r in repos}
        self.has_token = has_token

    def check(self, repo: str) -> None:
        if repo.lower() not in self._allowed:
            raise ToolError(f"repo {repo!r} is not in GITHUB_REPOS: {self.allowed}",
                            ErrorCode.POLICY_DENIED)

    def disabled(self, token_needed_for: str | None = None) -> str | None:
        """Why a GitHub tool cannot run here; `token_needed_for` when it needs a token."""
        if not self.allowed:
            return "GITHUB_REPOS is empty: set the repositories the agent may read"
        if token_needed_for and not self.has_token:
            return f"GITHUB_TOKEN is unset ({token_needed_for})"
        return None
