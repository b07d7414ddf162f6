"""GitHub connector over PyGithub (REST v3; github.com or GitHub Enterprise Server), one
module per resource family sharing one `GitHubSession` (credentials, timeouts, errors).

Every function returns plain, compact dicts built in a worker thread (`shapes.py`): no
PyGithub object leaves this package, so nothing fetches lazily later on the event loop.
"""

from .actions import ActionsClient
from .code import CodeClient
from .commits import CommitsClient
from .credentials import AppInstallation, Credential, TokenCredential
from .issues import IssuesClient
from .session import GitHubSession


class GitHubClient:
    """The four families over one session."""

    def __init__(self, api_url: str, credential: Credential, timeout_s: float,
                 bot_login: str | None = None) -> None:
        self.session = GitHubSession(api_url, credential, timeout_s, bot_login)
        self.issues = IssuesClient(self.session)
        self.commits = CommitsClient(self.session)
        self.actions = ActionsClient(self.session)
        self.code = CodeClient(self.session)


__all__ = ["AppInstallation", "Credential", "GitHubClient", "GitHubSession",
           "TokenCredential"]
