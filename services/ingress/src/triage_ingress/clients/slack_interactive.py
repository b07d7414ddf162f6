"""Answering a person who clicked in Slack: a message only they see (through the
interaction's `response_url`, slack-sdk's webhook client) or a modal (`views.open`).

Both are best effort by nature: Slack keeps a response_url for 30 minutes and a trigger id
for 3 seconds, so there is nothing to retry later; failures are reported to the caller
(`SlackRejected`) or logged with the reason.
"""

from typing import Any

import aiohttp
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from triage_contracts.logs import get_logger

from .slack import SlackRejected

log = get_logger("triage.ingress.slack")


class SlackInteractive:
    def __init__(self, token: SecretStr | None, api_url: str, timeout: int = 10) -> None:
        self._timeout = timeout
        self._web = (AsyncWebClient(token=token.get_secret_value(), base_url=api_url,
                                    timeout=timeout) if token is not None else None)

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

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> str:
        """Open a modal for the user behind `trigger_id`; its view id, or SlackRejected."""
        if self._web is None:
            raise SlackRejected("not_configured")
        try:
            resp = await self._web.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            raise SlackRejected(str(data.get("error") or exc.response.status_code)) from exc
        except (aiohttp.ClientError, TimeoutError, SlackClientError) as exc:
            raise SlackRejected(f"unreachable: {type(exc).__name__}") from exc
        return str((resp.get("view") or {}).get("id", ""))
