"""What every GitHub family shares: one PyGithub client per call, the call run whole in a
worker thread under the tool timeout, and GitHub's failures sorted into the error model.

PyGithub is synchronous: every call runs whole in a thread (attribute access can fetch
lazily, so plain dicts are built there). Its retries are off (a retried POST could comment
twice; retrying is the registry's and JetStream's job) and so is its 0.25 s pause between
requests, which would add latency to every call. Upstream 5xx, rate limits and timeouts
become `TemporaryError`; other 4xx a `ToolError` carrying GitHub's message, which a model
can act on. Each session revalidates what it read with ETags and keeps its token's quota
(`conditional.py`, `quota.py`).
"""

import asyncio
import math
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

import requests
from github import Auth, Github, GithubException
from triage_contracts.errors import ErrorCode, TemporaryError

from ...errors import ToolError
from . import conditional
from .credentials import Credential

T = TypeVar("T")
MAX_PER_PAGE = 100


class GitHubSession:
    def __init__(self, api_url: str, credential: Credential, timeout_s: float,
                 bot_login: str | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self._credential = credential
        self.timeout_s = timeout_s
        # Whose comments are the bot's own; None: learnt from GitHub on first need.
        self._bot_login = bot_login
        # What reads may be shared under: a digest of the credential, never the secret.
        self.credential = credential.digest
        self.layer = conditional.Layer(self.credential)
        conditional.install()

    def github(self, per_page: int = 30) -> Github:
        """A fresh client: PyGithub's requester is not meant to be shared by threads.
        Called in a worker thread: an App installation may mint its token here."""
        token = self._credential.token()
        auth = Auth.Token(token) if token else None
        return Github(base_url=self.api_url, auth=auth, timeout=math.ceil(self.timeout_s),
                      retry=None, lazy=True, seconds_between_requests=0,
                      seconds_between_writes=0,
                      per_page=max(1, min(per_page, MAX_PER_PAGE)))

    async def bot_login(self) -> str:
        """The login writes are authored as: the setting, else an App's `<slug>[bot]`, else
        GitHub's `GET /user` for the token (asked once)."""
        if self._bot_login is None:
            self._bot_login = await self.call("the bot's login", self._ask_login)
        return self._bot_login

    def _ask_login(self) -> str:
        known = self._credential.login()
        if known:
            return known
        if self._credential.token() is None:
            raise ToolError("writing needs GITHUB_TOKEN or a GitHub App (anonymous access "
                            "cannot comment)", ErrorCode.UPSTREAM_REJECTED)
        try:
            return str(self.github().get_user().login)
        except GithubException as exc:
            error = mapped("GET /user", exc, "the user")
            if isinstance(error, ToolError):  # a refusal, not an outage: say what fixes it
                error = ToolError(f"{error} (set GITHUB_BOT_LOGIN to the login the token "
                                  "writes as)", ErrorCode.UPSTREAM_REJECTED)
            raise error from exc

    async def headers_for(self, url: str) -> dict[str, str]:
        """Headers for a URL GitHub sent us to (a log download): the token goes only to the
        API's own origin, never to the blob storage host a pre-signed URL points at."""
        if _origin(url) != _origin(self.api_url):
            return {}
        token = await self._credential.token_async()
        return {"Authorization": f"token {token}"} if token else {}

    async def call(self, what: str, fn: Callable[[], T], requests_made: int = 1,
                   missing: str = "the repository") -> T:
        """Run `fn` in a thread within `requests_made` request timeouts; `missing` names
        what a 404 means is absent."""
        limit = self.timeout_s * requests_made
        # The thread sees this session's conditional layer (to_thread copies the context).
        layered = conditional.LAYER.set(self.layer)
        try:
            return await asyncio.wait_for(asyncio.to_thread(fn), limit)
        except TimeoutError as exc:
            raise TemporaryError(f"GitHub did not answer {what} within {limit}s") from exc
        except GithubException as exc:
            raise mapped(what, exc, missing) from exc
        except requests.RequestException as exc:
            raise TemporaryError(f"GitHub unreachable for {what}: {type(exc).__name__}") from exc
        finally:
            conditional.LAYER.reset(layered)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def mapped(what: str, exc: GithubException, missing: str) -> Exception:
    """GitHub's answer as one of the two error kinds, with its own message."""
    data = exc.data if isinstance(exc.data, dict) else {}
    message = exc.message or data.get("message") or "no message"
    text = f"GitHub answered {exc.status} to {what}: {message}"
    rate_limited = exc.status == 429 or (exc.status == 403 and "rate limit" in text.lower())
    if exc.status >= 500 or rate_limited:
        retry_after = (exc.headers or {}).get("retry-after")
        delay = float(retry_after) if retry_after and retry_after.isdigit() else None
        return TemporaryError(text, ErrorCode.UPSTREAM_UNAVAILABLE, delay=delay)
    if exc.status == 404:
        text += f" ({missing} does not exist, or the token cannot see it)"
    return ToolError(text, ErrorCode.UPSTREAM_REJECTED)
