"""The Slack stand-in delivers to the ingress as Slack does: within 3 seconds, and an event
the ingress did not take (no answer in time, a 5xx) is sent again with Slack's retry
headers; slash commands are not retried. Against a real HTTP receiver on loopback."""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from pydantic import SecretStr
from triage_sandbox.channel.ingress import IngressLink, NotConnected
from triage_sandbox.channel.settings import ChannelSettings

from .test_slack_api import serving


class Receiver:
    """An ingress that answers slowly or fails, as told, and records what it got."""

    def __init__(self, answers: list[str]) -> None:
        self.answers = answers  # per request, in order: "slow", "503", "ok"
        self.got: list[dict[str, Any]] = []
        self.app = FastAPI()

        @self.app.post("/slack/{kind}")
        async def receive(kind: str, request: Request) -> Response:
            self.got.append({"kind": kind, "retry": request.headers.get("x-slack-retry-num"),
                             "reason": request.headers.get("x-slack-retry-reason")})
            answer = self.answers.pop(0) if self.answers else "ok"
            if answer == "slow":
                await asyncio.sleep(4.0)  # beyond Slack's 3 seconds
            return Response(status_code=503 if answer == "503" else 200)


@pytest.fixture
async def receiver(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Receiver, str]]:
    got = Receiver(list(request.param))
    async with serving(got.app) as url:
        yield got, url


def link(url: str, timeout_s: float = 3.0) -> IngressLink:
    """Slack's 3-second bound by default; tests of other retries give a loaded machine
    room, so that a slow answer is never taken for a timeout there."""
    return IngressLink(ChannelSettings(ingress_url=url, signing_secret=SecretStr("s3cret"),
                                       retry_delays_s=(0.1, 0.1, 0.1), timeout_s=timeout_s))


async def until(check: Any, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("receiver", [["slow", "ok"]], indirect=True)
async def test_an_event_not_answered_in_3_seconds_is_sent_again(receiver) -> None:
    got, url = receiver
    with pytest.raises(NotConnected):
        await link(url).send("/slack/events", b"{}", "application/json", "mention")
    await until(lambda: len(got.got) == 2)
    assert got.got[1] == {"kind": "events", "retry": "1", "reason": "http_timeout"}


@pytest.mark.parametrize("receiver", [["503", "503", "ok"]], indirect=True)
async def test_an_event_answered_5xx_is_retried_until_taken(receiver) -> None:
    got, url = receiver
    sender = link(url, timeout_s=60.0)
    first = await sender.send("/slack/events", b"{}", "application/json", "mention")
    assert first.status == 503
    await until(lambda: len(got.got) == 3)
    assert [(g["retry"], g["reason"]) for g in got.got] == [
        (None, None), ("1", "http_error"), ("2", "http_error")]
    assert [d["status"] for d in sender.deliveries] == [503, 503, 200]


@pytest.mark.parametrize("receiver", [["503"]], indirect=True)
async def test_slash_commands_are_never_retried(receiver) -> None:
    got, url = receiver
    sender = link(url)
    answer = await sender.send("/slack/commands", b"text=x", "application/x-www-form-"
                               "urlencoded", "/triage")
    assert answer.status == 503
    assert not sender._retries  # nothing scheduled: Slack tells the person instead
    assert len(got.got) == 1 and len(sender.deliveries) == 1
