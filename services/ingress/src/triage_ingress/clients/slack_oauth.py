"""Exchanging an OAuth code for a bot token (`oauth.v2.access`) with slack-sdk's WebClient.

The result is turned into slack-sdk's own `Installation`, the shape its installation store
saves. Slack's refusals (invalid_code, bad_redirect_uri, ...) are `OAuthRefused`; an
unreachable Slack is a `TemporaryError` (the person can simply try again).
"""

import asyncio
import logging
from typing import Any
from urllib.error import URLError

from pydantic import SecretStr
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Installation
from triage_contracts.errors import ErrorCode, PermanentError, TemporaryError


class OAuthRefused(PermanentError):
    """Slack refused the code exchange; `error` is Slack's error code."""

    def __init__(self, error: str) -> None:
        super().__init__(error, ErrorCode.UPSTREAM_REJECTED)
        self.error = error


class SlackOAuth:
    def __init__(self, api_url: str, client_id: str, client_secret: SecretStr,
                 timeout: int = 10) -> None:
        # slack-sdk logs whole request and response bodies when its logger's own level is
        # DEBUG or unset: here the client secret and the new tokens. Its logger is pinned to
        # INFO, whatever LOG_LEVEL says.
        quiet = logging.getLogger("triage.ingress.slack_oauth.sdk")
        quiet.setLevel(logging.INFO)
        self._web = WebClient(base_url=api_url, timeout=timeout, logger=quiet)
        self._client_id = client_id
        self._secret = client_secret

    async def exchange(self, code: str, redirect_uri: str) -> Installation:
        # The sync WebClient runs in a thread: the event loop keeps serving meanwhile.
        data = await asyncio.to_thread(self._access, code, redirect_uri)
        installation = installation_from(data)
        if installation.bot_token:
            # The new token must work before it is stored (auth.test, as Bolt does); its
            # answer also names the bot and the workspace's URL.
            checked = await asyncio.to_thread(self._auth_test, installation.bot_token)
            installation.bot_id = str(checked.get("bot_id") or "") or None
            installation.team_name = installation.team_name or checked.get("team")
        return installation

    def _auth_test(self, token: str) -> dict[str, Any]:
        try:
            resp = self._web.auth_test(token=token)
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            raise OAuthRefused(f"auth_test_{data.get('error') or 'failed'}") from exc
        except (URLError, TimeoutError, OSError) as exc:
            raise TemporaryError(f"Slack unreachable: {type(exc).__name__}") from exc
        return dict(resp.data) if isinstance(resp.data, dict) else {}

    def _access(self, code: str, redirect_uri: str) -> dict[str, Any]:
        try:
            resp = self._web.oauth_v2_access(
                client_id=self._client_id, client_secret=self._secret.get_secret_value(),
                code=code, redirect_uri=redirect_uri)
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            status = exc.response.status_code
            if status == 429 or status >= 500:
                raise TemporaryError(f"Slack oauth.v2.access: http_{status}") from exc
            raise OAuthRefused(str(data.get("error") or f"http_{status}")) from exc
        except (URLError, TimeoutError, OSError) as exc:
            raise TemporaryError(f"Slack unreachable: {type(exc).__name__}") from exc
        return dict(resp.data) if isinstance(resp.data, dict) else {}


def installation_from(data: dict[str, Any]) -> Installation:
    """slack-sdk's Installation from an `oauth.v2.access` answer (as Bolt maps it)."""
    team = data.get("team") or {}
    enterprise = data.get("enterprise") or {}
    user = data.get("authed_user") or {}
    return Installation(
        app_id=data.get("app_id"), enterprise_id=enterprise.get("id"),
        enterprise_name=enterprise.get("name"), team_id=team.get("id"),
        team_name=team.get("name"), bot_token=data.get("access_token"),
        bot_user_id=data.get("bot_user_id"), bot_scopes=data.get("scope") or "",
        bot_refresh_token=data.get("refresh_token"),
        bot_token_expires_in=data.get("expires_in"),
        user_id=str(user.get("id") or ""), user_token=user.get("access_token"),
        user_scopes=user.get("scope") or "",
        is_enterprise_install=bool(data.get("is_enterprise_install")),
        token_type=data.get("token_type"),
    )
