"""Doing what assistant.py decides: `assistant.threads.setSuggestedPrompts` and
`assistant.threads.setTitle`, in the background of the request that asked for them (the
answer to Slack, due within 3 seconds, never waits for them), bounded in time, and with
failures logged and dropped: a thread without prompts or a title still works.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from triage_contracts.logs import get_logger

from .assistant import PROMPTS, PROMPTS_TITLE, Thread
from .clients.slack import SlackRejected
from .clients.slack_interactive import SlackInteractive

log = get_logger("triage.ingress.assistant")
Call = Callable[[AsyncWebClient], Awaitable[Any]]


class AssistantCalls:
    def __init__(self, slack: SlackInteractive, budget_s: float = 5.0) -> None:
        self._slack = slack
        self._budget_s = budget_s
        self._tasks: set[asyncio.Task[None]] = set()  # held: the loop keeps weak refs only

    def suggest(self, thread: Thread) -> None:
        self._spawn("assistant.threads.setSuggestedPrompts", thread,
                    lambda web: web.assistant_threads_setSuggestedPrompts(
                        channel_id=thread.channel_id, thread_ts=thread.thread_ts,
                        prompts=list(PROMPTS), title=PROMPTS_TITLE))

    def title(self, thread: Thread, title: str) -> None:
        self._spawn("assistant.threads.setTitle", thread,
                    lambda web: web.assistant_threads_setTitle(
                        channel_id=thread.channel_id, thread_ts=thread.thread_ts, title=title))

    async def settled(self) -> None:
        """Wait for the calls under way (shutdown)."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, method: str, thread: Thread, call: Call) -> None:
        task = asyncio.create_task(self._best_effort(method, thread, call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _best_effort(self, method: str, thread: Thread, call: Call) -> None:
        try:
            async with asyncio.timeout(self._budget_s):
                await call(await self._slack.web(thread.team_id, thread.enterprise_id))
        except SlackRejected as exc:
            log.info("assistant call not made", method=method, error=exc.error)
        except SlackApiError as exc:  # not an assistant thread, an old workspace, ...
            log.info("assistant call refused", method=method,
                     error=exc.response.get("error"))
        except (aiohttp.ClientError, TimeoutError, SlackClientError) as exc:
            log.info("assistant call failed", method=method, error=type(exc).__name__)
        else:
            log.debug("assistant call made", method=method)
