"""Who the tools service is to GitHub: a token (a bot user's, fine-grained or classic), no
one (anonymous, read-only and rate-limited), or a GitHub App installation.

An installation's tokens carry the installation's own quota (5,000 requests an hour and
more with the organisation's size, 15,000 on Enterprise Cloud, where a user token has
5,000), are scoped to the repositories the App was installed on, and expire after an hour.
They are minted from a JWT signed with the App's private key (`POST
/app/installations/{id}/access_tokens`) and renewed five minutes before they expire; the
quota and the shared reads are keyed by the installation, not by the changing token.

`token()` may call GitHub: it runs in the worker threads `GitHubSession.call` uses, never
on the event loop (`token_async` for async callers).
"""

import asyncio
import hashlib
import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

from github import Auth, GithubException, GithubIntegration
from pydantic import SecretStr
from triage_contracts.errors import ErrorCode, TemporaryError

from ...errors import ToolError
from . import conditional

RENEW_BEFORE = timedelta(minutes=5)


class Credential(Protocol):
    # What reads are shared under and the quota is kept for: never the secret itself.
    digest: str

    def token(self) -> str | None: ...

    async def token_async(self) -> str | None: ...

    def login(self) -> str | None:
        """The login writes are authored as when GitHub can tell (None: ask GET /user)."""
        ...


class TokenCredential:
    """A fixed token, or none (anonymous)."""

    def __init__(self, token: SecretStr | None) -> None:
        self._token = token
        secret = token.get_secret_value() if token else ""
        self.digest = "github:" + (hashlib.sha256(secret.encode()).hexdigest()[:16]
                                   if secret else "anonymous")

    def token(self) -> str | None:
        return self._token.get_secret_value() if self._token else None

    async def token_async(self) -> str | None:
        return self.token()

    def login(self) -> str | None:
        return None


class AppInstallation:
    """A GitHub App installation: tokens minted on demand and renewed before they expire."""

    def __init__(self, api_url: str, app_id: int, private_key: SecretStr,
                 installation_id: int, timeout_s: float) -> None:
        self._api_url, self._timeout = api_url, max(1, int(timeout_s))
        self._auth = Auth.AppAuth(app_id, private_key.get_secret_value())
        self.app_id, self.installation_id = app_id, installation_id
        self.digest = f"github-app:{app_id}:{installation_id}"
        self._lock = threading.Lock()  # one mint at a time, however many threads ask
        self._current: tuple[str, datetime] | None = None
        self._login: str | None = None

    def token(self) -> str:
        with self._lock:
            if self._current is None or self._current[1] - RENEW_BEFORE <= datetime.now(UTC):
                self._current = self._mint()
            return self._current[0]

    async def token_async(self) -> str:
        return await asyncio.to_thread(self.token)

    def login(self) -> str:
        """`<slug>[bot]`, the login GitHub authors an App's comments as (GET /app)."""
        if self._login is None:
            app = self._call("GET /app", lambda gi: gi.get_app())
            self._login = f"{app.slug}[bot]"
        return self._login

    def _mint(self) -> tuple[str, datetime]:
        granted = self._call(f"POST /app/installations/{self.installation_id}/access_tokens",
                             lambda gi: gi.get_access_token(self.installation_id))
        expires = granted.expires_at or datetime.now(UTC) + timedelta(hours=1)
        return granted.token, expires.astimezone(UTC)

    def _call[T](self, what: str, fn: "_IntegrationCall[T]") -> T:
        # The App's own requests (JWT) have their own quota: not the installation's book.
        outside = conditional.LAYER.set(None)
        integration = GithubIntegration(base_url=self._api_url, auth=self._auth,
                                        timeout=self._timeout, retry=None,
                                        seconds_between_requests=0, seconds_between_writes=0)
        try:
            return fn(integration)
        except GithubException as exc:
            message = (exc.data or {}).get("message") if isinstance(exc.data, dict) else None
            text = (f"GitHub App {self.app_id} could not act as installation "
                    f"{self.installation_id} ({what}: {exc.status} {message or ''})".rstrip())
            if exc.status >= 500 or exc.status == 429:
                raise TemporaryError(text, ErrorCode.UPSTREAM_UNAVAILABLE) from exc
            raise ToolError(text + ": check GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID and "
                            "the private key", ErrorCode.UPSTREAM_REJECTED) from exc
        finally:
            conditional.LAYER.reset(outside)
            integration.close()


class _IntegrationCall[T](Protocol):
    def __call__(self, integration: GithubIntegration, /) -> T: ...
