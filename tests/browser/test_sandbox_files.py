"""A file shared in a thread (Slack's external upload flow, by slack-sdk's real client)
shows on the sandbox channel page in Chromium as a link that downloads it."""

from playwright.sync_api import Page, expect
from slack_sdk import WebClient
from triage_sandbox.stack import Stack

from .test_sandbox_channel import CLICK_TIMEOUT_MS, open_channel, url

CONTENT = "== Evidence (1)\n- github.workflow_run: CI #57 failed\n"


def test_a_shared_file_shows_as_a_download_link_in_its_thread(stack: Stack,
                                                               page: Page) -> None:
    open_channel(page, stack)
    slack = WebClient(token=stack.plan.bot_token, base_url=url(stack, "slack", "/api/"))
    top = slack.chat_postMessage(channel="C_TRIAGE", text="file test question")
    slack.files_upload_v2(channel="C_TRIAGE", thread_ts=top["ts"], content=CONTENT,
                          filename="evidence-run-1.txt", title="Evidence behind this answer",
                          initial_comment="The raw evidence behind this answer")
    link = page.get_by_test_id("file")
    expect(link).to_contain_text("Evidence behind this answer", timeout=CLICK_TIMEOUT_MS)
    expect(link).to_contain_text("evidence-run-1.txt")
    href = link.get_attribute("href")
    assert href is not None and href.startswith("/sandbox/files/F")
    got = page.request.get(url(stack, "slack", href))
    assert got.ok and got.text() == CONTENT
