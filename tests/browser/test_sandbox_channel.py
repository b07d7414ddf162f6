"""The sandbox Slack channel page, end to end in Chromium: a question typed on the page
travels signed through the real ingress, the bot's threaded answer (with its evidence)
appears live, and the approval buttons work exactly as in Slack: the requester and a
non-approver are refused with a visible reason, an approver's click makes the write land
at the GitHub stand-in exactly once. Screenshots go to test-artifacts/screenshots/
(docs/screenshots/ with UPDATE_SCREENSHOTS=1)."""

import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect
from triage_sandbox.approval_session import DevSession
from triage_sandbox.demo_data import BROKEN_ERROR_RATIO
from triage_sandbox.stack import Stack

QUESTION = "why is checkout-api failing?"
ANSWER_TIMEOUT_MS = 60_000
CLICK_TIMEOUT_MS = 20_000


def url(stack: Stack, name: str, path: str = "") -> str:
    return stack.plan.process(name).url + path


def github(stack: Stack, path: str) -> Any:
    return httpx.get(url(stack, "github", path), timeout=5).json()


def comments(stack: Stack) -> list[dict[str, Any]]:
    return github(stack, "/sandbox/comments")  # type: ignore[no-any-return]


def open_channel(page: Page, stack: Stack) -> None:
    page.goto(url(stack, "slack", "/"))
    expect(page.get_by_test_id("sandbox-banner")).to_contain_text("SANDBOX")
    expect(page.get_by_test_id("live")).to_have_text("live")


def act_as(page: Page, user_id: str) -> None:
    page.get_by_test_id(f"person-{user_id}").check()
    expect(page.get_by_test_id(f"person-{user_id}")).to_be_checked()


def say(page: Page, text: str) -> None:
    page.get_by_test_id("composer").fill(text)
    page.get_by_test_id("composer").press("Enter")
    expect(page.get_by_test_id("composer")).to_have_value("")  # accepted by the stand-in


def thread_of(page: Page, text: str) -> Locator:
    """The thread under the (single) person's message that contains `text` (the bot's
    answer quotes the question too, so bot messages are excluded)."""
    asked = page.locator("article.msg:not(.bot)", has_text=text)
    expect(asked).to_have_count(1)
    ts = asked.get_attribute("data-ts")
    return page.locator(f'[data-testid="thread"][data-thread-ts="{ts}"]')


def click_approve(page: Page, thread: Locator) -> None:
    """Approve asks for confirmation first, as in Slack: the person confirms."""
    page.once("dialog", lambda dialog: dialog.accept())
    thread.locator("button[data-action-id=approval_approve]").click()


def settle(seconds: float = 3.0) -> None:
    """Give a wrongly duplicated write the time to show up before asserting 'exactly one'."""
    time.sleep(seconds)


def test_question_answer_and_approval_buttons(stack: Stack, page: Page,
                                              screenshots: Path) -> None:
    open_channel(page, stack)
    act_as(page, "U_REQUESTER")
    say(page, f"@triage {QUESTION}")
    thread = thread_of(page, QUESTION)

    # The threaded answer, live, with the evidence the GitHub/Prometheus stand-ins hold.
    approve = thread.locator("button[data-action-id=approval_approve]")
    expect(approve).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    bad_sha = github(stack, "/repos/demo-org/checkout-api/commits")[0]["sha"][:7]
    failing = github(stack, "/repos/demo-org/checkout-api/actions/runs")["workflow_runs"][0]
    expect(thread).to_contain_text(bad_sha)
    expect(thread).to_contain_text(f"run #{failing['run_number']}")
    expect(thread).to_contain_text(f"{BROKEN_ERROR_RATIO:.1%}")
    expect(thread).to_contain_text("demo-org/checkout-api#42")
    page.screenshot(path=str(screenshots / "sandbox-channel-answer.png"))

    # The requester cannot approve their own request: refused, and told why (only them).
    click_approve(page, thread)
    own = "the requester cannot approve their own request"
    expect(thread.get_by_test_id("ephemeral")).to_contain_text(own, timeout=CLICK_TIMEOUT_MS)
    expect(thread.get_by_test_id("ephemeral")).to_contain_text("Only visible to you")
    page.screenshot(path=str(screenshots / "sandbox-channel-refused.png"))

    # Vic is not an approver: refused too; Riley's note is not shown to Vic.
    act_as(page, "U_VIEWER")
    expect(thread.get_by_test_id("ephemeral")).to_have_count(0)
    click_approve(page, thread)
    expect(thread.get_by_test_id("ephemeral")).to_contain_text(
        "U_VIEWER is not an approver for this workspace", timeout=CLICK_TIMEOUT_MS)
    assert comments(stack) == []

    # Avery approves: the prompt is edited in place, the write lands once, the reply says so.
    act_as(page, "U_APPROVER")
    click_approve(page, thread)
    expect(thread).to_contain_text("Approved by @Avery", timeout=ANSWER_TIMEOUT_MS)
    expect(thread).to_contain_text("Commented on", timeout=ANSWER_TIMEOUT_MS)
    expect(thread.locator(".edited")).to_have_count(1)  # chat.update, not a new message
    expect(approve).to_have_count(0)  # the buttons are gone with the edit
    page.screenshot(path=str(screenshots / "sandbox-channel-approved.png"))
    settle()
    [comment] = comments(stack)
    assert comment["issue_number"] == 42 and bad_sha in comment["body"]
    with DevSession(url(stack, "approval"), "U_LEAD") as lee:
        [decided] = lee.approvals()
    assert (decided["status"], decided["decided_by"]) == ("approved", "U_APPROVER")


def test_reject_asks_for_a_reason_in_a_modal(stack: Stack, page: Page,
                                             screenshots: Path) -> None:
    open_channel(page, stack)
    act_as(page, "U_REQUESTER")
    say(page, f"@triage {QUESTION}")
    thread = thread_of(page, QUESTION)
    reject = thread.locator("button[data-action-id=approval_reject]")
    expect(reject).to_be_visible(timeout=ANSWER_TIMEOUT_MS)

    act_as(page, "U_LEAD")
    reject.click()
    modal = page.get_by_test_id("modal")
    expect(modal).to_be_visible(timeout=CLICK_TIMEOUT_MS)
    expect(modal).to_contain_text("Reject the action")
    page.get_by_test_id("modal-submit").click()  # no reason yet: the app says what is missing
    expect(modal).to_contain_text("a reason is required to reject", timeout=CLICK_TIMEOUT_MS)

    reason = "Roll back e15 first, then comment"
    modal.locator("textarea").fill(reason)
    page.screenshot(path=str(screenshots / "sandbox-channel-reject-modal.png"))
    page.get_by_test_id("modal-submit").click()
    expect(modal).to_be_hidden(timeout=CLICK_TIMEOUT_MS)
    expect(thread).to_contain_text(f"Rejected by @Lee: {reason}", timeout=ANSWER_TIMEOUT_MS)
    expect(thread).to_contain_text("Not performed", timeout=ANSWER_TIMEOUT_MS)
    settle()
    assert comments(stack) == []


def test_direct_message_and_slash_command(stack: Stack, page: Page) -> None:
    open_channel(page, stack)
    act_as(page, "U_REQUESTER")
    latest = github(stack, "/repos/demo-org/payments-api/commits")[0]["sha"][:7]

    page.get_by_test_id("channel-dm").click()
    say(page, "what changed in payments-api recently?")
    expect(thread_of(page, "what changed in payments-api")).to_contain_text(
        latest, timeout=ANSWER_TIMEOUT_MS)

    page.get_by_test_id("channel-triage").click()
    expect(page.locator("article.msg", has_text="payments-api")).to_have_count(0)  # a DM
    say(page, "/triage what changed in payments-api recently?")
    expect(page.get_by_test_id("ephemeral")).to_contain_text("Looking into it")
    answer = page.locator('article.msg.bot[data-testid="message"]',
                          has_text="what changed in payments-api")
    expect(answer).to_contain_text(latest, timeout=ANSWER_TIMEOUT_MS)


def test_the_working_status_shows_in_the_thread_until_the_answer(stack: Stack,
                                                                 page: Page) -> None:
    """What the notifier does for a run's status (assistant.threads.setStatus), seen live
    on the page, and cleared by the app's reply in that thread, as in Slack."""
    open_channel(page, stack)
    api = url(stack, "slack", "/api/")
    auth = {"Authorization": f"Bearer {stack.plan.bot_token}"}
    top = httpx.post(api + "chat.postMessage", headers=auth, timeout=10,
                     json={"channel": "C_TRIAGE", "text": "status test question"}).json()
    assert top["ok"], top
    set_status = httpx.post(api + "assistant.threads.setStatus", headers=auth, timeout=10,
                            json={"channel_id": "C_TRIAGE", "thread_ts": top["ts"],
                                  "status": "Reading CI runs and commits…"}).json()
    assert set_status == {"ok": True}
    expect(page.get_by_test_id("thread-status")).to_have_text(
        "triage Reading CI runs and commits…", timeout=CLICK_TIMEOUT_MS)
    httpx.post(api + "chat.postMessage", headers=auth, timeout=10,
               json={"channel": "C_TRIAGE", "thread_ts": top["ts"], "text": "the answer"})
    expect(page.get_by_test_id("thread-status")).to_have_count(0, timeout=CLICK_TIMEOUT_MS)
