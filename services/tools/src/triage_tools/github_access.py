"""What every GitHub toolset shares: the repository allow-list, checked before any request,
the toolsets' prerequisites, and GitHub's rate limits.

The allow-list is the agent's boundary: a repository outside GITHUB_REPOS is refused with
the list (so a model can pick an allowed one), and nothing is sent to GitHub for it.
"""

from triage_contracts.errors import ErrorCode

from .errors import ToolError
from .registry import RateLimit

# GitHub: 5,000 requests/hour per token; search 30/minute; code search 10/minute. Reads
# have no bucket of their own: one tool's bucket per process neither protected that quota
# (every tool and replica spends the same token) nor let a burst through. The token's
# budget as GitHub reports it governs them (`clients/github/quota.py`), and identical reads
# share one request (`shared_reads.py`).
READ: RateLimit | None = None
SEARCH: RateLimit | None = None
CODE_SEARCH: RateLimit | None = None
# Writes keep one: GitHub's secondary limit on content creation is tight (80/minute).
WRITE = RateLimit(per_second=0.5, burst=3)


class RepoAccess:
    def __init__(self, repos: list[str]) -> None:
        self.allowed = list(repos)
        self._allowed = {r.lower() for r in repos}

    def check(self, repo: str) -> None:
        if repo.lower() not in self._allowed:
            raise ToolError(f"repo {repo!r} is not in GITHUB_REPOS: {self.allowed}",
                            ErrorCode.POLICY_DENIED)

    def disabled(self) -> str | None:
        """Why the GitHub tools cannot run here. A missing token is no reason: anonymous
        access works where the server allows it (public repositories, GitHub stand-ins),
        and GitHub's own 401 tells the model when it does not."""
        if not self.allowed:
            return "GITHUB_REPOS is empty: set the repositories the agent may read"
        return None
