"""Answering a person who clicked in Slack: a message only they see (through the
interaction's `response_url`, slack-sdk's webhook client) or a modal (`views.open`).

Both are best effort by nature: Slack keeps a response_url for 30 minutes and a trigger id
for 3 seconds, so there is nothing to retry later; failures are reported to the caller
(`SlackRejected`) or logged with the reason.
"""

from typing import Any, Protocol

import aiohttp
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from triage_contracts.errors import TriageError
from triage_contracts.logs import get_logger

from .slack import SlackRejected

log = get_logger("triage.ingress.slack")


class TeamTokens(Protocol):
    """Where OAuth-installed workspaces keep their bot tokens (`installations.Stores`)."""

    async def bot_token(self, team_id: str, enterprise_id: str | None = None
                        ) -> SecretStr | None: ...


class SlackInteractive:
    def __init__(self, token: SecretStr | None, api_url: str, timeout: int = 10,
                 teams: TeamTokens | None = None) -> None:
        self._timeout = timeout
        self._api_url = api_url
        self._default = token
        self._teams = teams

    async def tell(self, response_url: str, text: str) -> bool:
        """Show `text` to the clicking user only, below the message they clicked."""
        try:
            resp = await AsyncWebhookClient(response_url, timeout=self._timeout).send(
                text=text, response_type="ephemeral", replace_original=False)
        except (aiohttp.ClientError, TimeoutError, SlackClientError) as exc:
            log.warning("could not answer through response_url", error=type(exc).__name__)
            return False
        if resp.status_code != 200:
            log.warning("response_url refused the answer", status=resp.status_code,
                        body=resp.body[:200])
            return False
        return True

    async def _token(self, team_id: str, enterprise_id: str | None) -> SecretStr | None:
        """The clicking workspace's own token when it installed the app (a trigger id is
        only valid for the app's token in that workspace), else the single-workspace one."""
        if self._teams is not None:
            try:
                token = await self._teams.bot_token(team_id, enterprise_id)
            except TriageError as exc:  # the store is down, or the vault refused the token
                # Never the default token instead: it would speak for another workspace.
                raise SlackRejected(f"installation_unavailable: {type(exc).__name__}") from exc
            if token is not None:
                return token
        return self._default

    async def web(self, team_id: str, enterprise_id: str | None = None) -> AsyncWebClient:
        """A Web API client speaking for that workspace; SlackRejected without a token."""
        token = await self._token(team_id, enterprise_id)
        if token is None:
            raise SlackRejected("not_configured")
        return AsyncWebClient(token=token.get_secret_value(), base_url=self._api_url,
                              timeout=self._timeout)

    async def open_view(self, trigger_id: str, view: dict[str, Any], team_id: str,
                        enterprise_id: str | None = None) -> str:
        """Open a modal for the user behind `trigger_id`; its view id, or SlackRejected."""
        web = await self.web(team_id, enterprise_id)
        try:
            resp = await web.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            raise SlackRejected(str(data.get("error") or exc.response.status_code)) from exc
        except (aiohttp.ClientError, TimeoutError, SlackClientError) as exc:
            raise SlackRejected(f"unreachable: {type(exc).__name__}") from exc
        return str((resp.get("view") or {}).get("id", ""))
