"""The AI-app surface on the sandbox page, end to end in Chromium: a question in the DM with
the app shows the run's status while it works, the answer streams into the thread (the
message grows, marked as streaming, before its closing blocks arrive), its feedback
buttons work, and a question asked in the thread gives the thread its title. The stand-in
is told to be slow at the start and the end of the stream (`/sandbox/faults` with no
error, only a delay) so each stage stays on screen long enough to be seen; nothing else
about the run is staged."""

from pathlib import Path

import httpx
from playwright.sync_api import Page, expect
from triage_sandbox.stack import Stack

from .test_sandbox_channel import (
    ANSWER_TIMEOUT_MS,
    CLICK_TIMEOUT_MS,
    act_as,
    github,
    open_channel,
    say,
    thread_of,
    url,
)

QUESTION = "what changed in payments-api recently?"
SLOW_S = 4.0


def slow(stack: Stack, method: str) -> None:
    resp = httpx.post(url(stack, "slack", "/sandbox/faults"), timeout=5,
                      json={"method": method, "error": None, "delay_s": SLOW_S})
    assert resp.json()["ok"], resp.text


def test_status_then_a_streamed_answer_then_feedback(stack: Stack, page: Page,
                                                     screenshots: Path) -> None:
    open_channel(page, stack)
    act_as(page, "U_REQUESTER")
    latest = github(stack, "/repos/demo-org/payments-api/commits")[0]["sha"][:7]
    slow(stack, "chat.startStream")  # the status stays up while the stream starts
    slow(stack, "chat.stopStream")  # the streamed text shows before it is finished

    page.get_by_test_id("channel-dm").click()
    say(page, QUESTION)
    thread = thread_of(page, QUESTION)
    expect(page.get_by_test_id("thread-status")).to_contain_text(
        "Reading", timeout=ANSWER_TIMEOUT_MS)

    growing = thread.locator('article.msg.bot[data-streaming="true"]')
    expect(growing).to_contain_text(latest, timeout=ANSWER_TIMEOUT_MS)
    expect(growing.locator("button[data-action-id=feedback_good]")).to_have_count(0)
    expect(page.get_by_test_id("thread-status")).to_have_count(0)  # the answer replaced it
    page.screenshot(path=str(screenshots / "sandbox-dm-streaming.png"))

    answer = thread.locator('article.msg.bot[data-streaming="false"]')
    helpful = answer.locator("button[data-action-id=feedback_good]")
    expect(helpful).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(answer).to_contain_text(latest)
    expect(thread.locator("article.msg.bot")).to_have_count(1)  # one answer, grown in place
    helpful.click()
    expect(thread.get_by_test_id("ephemeral")).to_contain_text(
        "Thanks: your rating is kept", timeout=CLICK_TIMEOUT_MS)
    page.screenshot(path=str(screenshots / "sandbox-dm-streamed-answer.png"))

    # A question asked in the thread (as in Slack's assistant view) titles the thread.
    page.locator(".thread-actions button").first.click()
    say(page, "and is CI <green> on payments-api?")
    expect(page.get_by_test_id("thread-title")).to_have_text(
        "and is CI <green> on payments-api?", timeout=ANSWER_TIMEOUT_MS)
