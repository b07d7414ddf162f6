"""The Slack Web API as the notifier needs it, through slack-sdk's AsyncWebClient.

Failures are sorted once, here: rate limits, 5xx and connection trouble are temporary
(the notify command is redelivered later); anything else Slack refuses (invalid_auth,
channel_not_found, ...) is a `SlackRejected` the run must hear about.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from triage_contracts.errors import ErrorCode, PermanentError, TemporaryError
from triage_contracts.messages import NotifyRequest

from .slack_files import share, shared_here

EVENT_TYPE = "triage_message"
# Slack errors that say the bot cannot post in that conversation (a private channel it was
# not invited to, a DM between people): a slash command's response_url still can.
NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found"})
# Slack errors that say "not now" rather than "never".
TEMPORARY = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                       "request_timeout", "team_added_to_org"})


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str


class SlackRejected(PermanentError):
    """Slack refused the call for good; `error` is Slack's error code."""

    def __init__(self, error: str) -> None:
        super().__init__(error, ErrorCode.UPSTREAM_REJECTED)
        self.error = error


def metadata(req: NotifyRequest) -> dict[str, Any]:
    """What marks a posted message as this run step's, so a retry can find it."""
    return {"event_type": EVENT_TYPE,
            "event_payload": {"run_id": req.run_id, "step_id": req.step_id}}


def _retry_after(exc: SlackApiError) -> float | None:
    value = exc.response.headers.get("Retry-After") if exc.response.headers else None
    return float(value) if value and str(value).isdigit() else None


@asynccontextmanager
async def _sorted_errors(method: str) -> AsyncIterator[None]:
    try:
        yield
    except SlackApiError as exc:
        status = exc.response.status_code
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        error = str(data.get("error") or f"http_{status}")
        if status == 429 or status >= 500 or error in TEMPORARY:
            raise TemporaryError(f"Slack {method}: {error}", delay=_retry_after(exc)) from exc
        raise SlackRejected(error) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise TemporaryError(f"Slack {method} unreachable: {type(exc).__name__}") from exc
    except SlackClientError as exc:  # a request slack-sdk itself refused to build
        raise SlackRejected(f"client_error: {exc}") from exc


def posted_nothing(exc: BaseException) -> bool:
    """Slack answered the call with a refusal (an error, a 429), so nothing was posted. A
    timeout, a dropped connection or a 5xx may hide a post that happened."""
    cause = exc.__cause__
    return isinstance(exc, SlackRejected) or (
        isinstance(cause, SlackApiError) and cause.response.status_code < 500)


class SlackClient:
    def __init__(self, token: SecretStr, base_url: str, timeout: int = 10) -> None:
        # Only rate limits are retried in-process: Slack did not post anything then. A
        # connection error may hide a post that happened, so that case goes back to the
        # notifier's redelivery, which looks for the message before posting again.
        self._web = AsyncWebClient(
            token=token.get_secret_value(), base_url=base_url, timeout=timeout,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
        )

    async def post(self, req: NotifyRequest) -> Posted:
        async with _sorted_errors("chat.postMessage"):
            resp = await self._web.chat_postMessage(
                channel=req.channel_id, thread_ts=req.thread_ts, text=req.text,
                blocks=req.blocks or None, unfurl_links=False, unfurl_media=False,
                metadata=metadata(req),
            )
        return Posted(channel=str(resp["channel"]), ts=str(resp["ts"]))

    async def upload(self, req: NotifyRequest) -> Posted:
        """Share `req.file` in the thread (Slack answers no message ts for it)."""
        async with _sorted_errors("files.upload"):
            await share(self._web, req)
        return Posted(channel=req.channel_id, ts="")

    async def set_status(self, req: NotifyRequest) -> None:
        """The thread's "is working" status (Slack's assistant status; cleared by Slack
        when the app replies in the thread)."""
        async with _sorted_errors("assistant.threads.setStatus"):
            await self._web.assistant_threads_setStatus(
                channel_id=req.channel_id, thread_ts=req.thread_ts or "", status=req.text)

    async def start_stream(self, req: NotifyRequest) -> Posted:
        """An empty message in the thread that `append_stream` grows (see streaming.py)."""
        async with _sorted_errors("chat.startStream"):
            resp = await self._web.chat_startStream(channel=req.channel_id,
                                                    thread_ts=req.thread_ts or "")
        return Posted(channel=str(resp["channel"]), ts=str(resp["ts"]))

    async def append_stream(self, stream: Posted, text: str) -> None:
        async with _sorted_errors("chat.appendStream"):
            await self._web.chat_appendStream(channel=stream.channel, ts=stream.ts,
                                              markdown_text=text)

    async def stop_stream(self, req: NotifyRequest, stream: Posted,
                          blocks: list[dict[str, Any]] | None = None) -> None:
        """Finish the stream: `blocks` below the streamed text, and the step's metadata."""
        async with _sorted_errors("chat.stopStream"):
            await self._web.chat_stopStream(channel=stream.channel, ts=stream.ts,
                                            blocks=blocks or None, metadata=metadata(req))

    async def update(self, req: NotifyRequest, ts: str) -> Posted:
        async with _sorted_errors("chat.update"):
            resp = await self._web.chat_update(
                channel=req.channel_id, ts=ts, text=req.text, blocks=req.blocks or None,
            )
        return Posted(channel=str(resp["channel"]), ts=str(resp["ts"]))

    async def find_posted(self, req: NotifyRequest) -> Posted | None:
        """The message an earlier, interrupted attempt of this step posted, if any."""
        async with _sorted_errors("conversations.replies"):
            if req.thread_ts:
                resp = await self._web.conversations_replies(
                    channel=req.channel_id, ts=req.thread_ts, include_all_metadata=True,
                    limit=200)
            else:
                resp = await self._web.conversations_history(
                    channel=req.channel_id, include_all_metadata=True, limit=100)
        for message in resp.get("messages") or []:
            if _marks(message.get("metadata") or {}, req) or shared_here(message, req):
                return Posted(channel=req.channel_id, ts=str(message["ts"]))
        return None


def _marks(meta: dict[str, Any], req: NotifyRequest) -> bool:
    payload = meta.get("event_payload") or {}
    return (meta.get("event_type") == EVENT_TYPE and payload.get("run_id") == req.run_id
            and payload.get("step_id") == req.step_id)


async def answer_command(response_url: str, req: NotifyRequest, timeout: int = 10) -> None:
    """Post `req` through a slash command's response_url, visible to the channel (the
    answer quotes the question, which a slash command never shows). Slack keeps the URL
    for 30 minutes and 5 answers; a refusal is final."""
    try:
        resp = await AsyncWebhookClient(response_url, timeout=timeout).send(
            text=req.text, blocks=req.blocks or None, response_type="in_channel",
            replace_original=False)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise TemporaryError(f"response_url unreachable: {type(exc).__name__}") from exc
    if resp.status_code == 429 or resp.status_code >= 500:
        raise TemporaryError(f"response_url: http_{resp.status_code}")
    if resp.status_code != 200:
        raise SlackRejected(f"response_url_{resp.body[:40] or resp.status_code}")
