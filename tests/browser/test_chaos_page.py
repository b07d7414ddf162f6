"""Chaos mode in Chromium: with the tools service SIGKILLed from the chaos page, a question
asked on the channel page waits in the tools consumer (shown on the chaos page); restarted
from the page, tools takes the waiting work and the answer arrives in the thread, once.
Screenshot: chaos-page.png (docs/screenshots/ with UPDATE_SCREENSHOTS=1)."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from triage_contracts.testing.natsserver import free_port
from triage_sandbox.chaos.serve import ChaosServer
from triage_sandbox.stack import Stack

from .test_sandbox_channel import (
    ANSWER_TIMEOUT_MS,
    QUESTION,
    act_as,
    open_channel,
    say,
    settle,
    thread_of,
    url,
)

APPROVE = "approval_approve"


@pytest.fixture
def chaos(stack: Stack) -> Iterator[ChaosServer]:
    server = ChaosServer(stack, free_port()).start()
    try:
        yield server
    finally:
        server.stop()


def answers_in_thread(stack: Stack, thread_ts: str) -> list[dict[str, Any]]:
    """The bot's answers in the thread, from the Slack stand-in's record: the messages that
    carry the approval buttons (the answer to this question proposes a comment)."""
    messages = httpx.get(url(stack, "slack", "/sandbox/messages"), timeout=5).json()
    return [m for m in messages if m.get("thread_ts") == thread_ts
            and any(e.get("action_id") == APPROVE for b in m.get("blocks") or []
                    for e in b.get("elements") or [])]


def test_kill_tools_the_run_waits_restart_it_answers_once(
        stack: Stack, chaos: ChaosServer, page: Page, screenshots: Path) -> None:
    page.goto(chaos.url + "/")
    tools = page.get_by_test_id("process-tools")
    expect(tools).to_have_attribute("data-state", "running")
    expect(tools).to_contain_text("ready")
    page.get_by_test_id("kill-tools").click()
    expect(tools).to_have_attribute("data-state", "killed")

    channel = page.context.new_page()
    open_channel(channel, stack)
    act_as(channel, "U_REQUESTER")
    say(channel, f"@triage {QUESTION}")
    thread = thread_of(channel, QUESTION)

    # The run waits: its tool calls sit in the tools consumer, and the run is listed.
    consumer = page.get_by_test_id("consumer-tools")
    expect(consumer).not_to_have_attribute("data-pending", "0", timeout=ANSWER_TIMEOUT_MS)
    expect(page.get_by_test_id("runs").locator("tbody tr")).to_have_count(1)
    page.screenshot(path=str(screenshots / "chaos-page.png"), full_page=True)
    approve = thread.locator(f"button[data-action-id={APPROVE}]")
    expect(approve).to_have_count(0)

    page.bring_to_front()
    page.get_by_test_id("restart-tools").click()
    expect(tools).to_contain_text("ready", timeout=ANSWER_TIMEOUT_MS)
    expect(consumer).to_have_attribute("data-pending", "0", timeout=ANSWER_TIMEOUT_MS)
    expect(approve).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    settle()  # a duplicated answer would show up by now
    expect(approve).to_have_count(1)
    thread_ts = channel.locator("article.msg:not(.bot)", has_text=QUESTION).get_attribute(
        "data-ts")
    assert thread_ts and len(answers_in_thread(stack, thread_ts)) == 1
