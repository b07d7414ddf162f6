"""A long answer end to end: the scripted model (real OpenAI protocol) writes ~30,000
characters; the thread in the Slack stand-in (which refuses what Slack refuses: sections
over 3,000, more than 50 blocks, msg_too_long) receives all of it, in order, over several
messages, then the run's raw evidence as one file shared through Slack's external upload
flow. Every service is a real process on real NATS."""

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from triage_sandbox.stack import Stack

from .helpers import mention, settle, thread_messages, wait_for
from .test_investigation import CLASSIFY, REPO, call, github, script

FINDINGS = 60


@pytest.fixture
def long_answer(scripted: Stack) -> Iterator[tuple[Stack, str]]:
    run_url = github(scripted, f"/repos/{REPO}/actions/runs")["workflow_runs"][0]["html_url"]
    paragraph = ("the integration stage of checkout-api timed out while the payment client "
                 "retried & the pool ran dry, so the job was cancelled (see {url}). ")
    answer = "\n\n".join(f"Finding {n}: " + paragraph.format(url=run_url) * 3
                         for n in range(1, FINDINGS + 1))
    assert len(answer) > 25_000
    script(scripted, [
        {"match": {"user_contains": "<context>", "turn": 1}, "reply": {"tool_calls": [
            call("github.workflow_runs", {"repo": REPO, "limit": 3}, "call_runs")]}},
        {"match": {"user_contains": "<context>", "turn": 2}, "reply": {"content": answer}},
        CLASSIFY,
    ])
    yield scripted, run_url


def _sections(message: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in message.get("blocks") or [] if b["type"] == "section"]


def test_a_long_answer_arrives_whole_in_the_thread_with_its_evidence_file(
        long_answer: tuple[Stack, str]) -> None:
    stack, run_url = long_answer
    payload = mention(stack, "why is checkout-api failing?")
    thread = payload["event"]["ts"]
    wait_for(lambda: any(m.get("files") for m in thread_messages(stack, thread)), timeout=120)
    settle()
    messages = thread_messages(stack, thread)
    answers = [m for m in messages if not m.get("files")]
    [shared] = [m for m in messages if m.get("files")]
    assert messages[-1] is shared  # after the whole answer
    assert len(answers) >= 3
    shown = "\n\n".join(s for m in answers for s in _sections(m))
    found = [int(n) for n in re.findall(r"Finding (\d+):", shown)]
    assert found == list(range(1, FINDINGS + 1))  # all of it, in order, none twice
    assert shown.count(f"<{run_url}|{run_url}>") == FINDINGS * 3  # no link cut in two
    assert shown.count("retried &amp; the pool") == FINDINGS * 3  # no escape cut either
    assert all(len(m["text"]) <= 4_000 for m in answers)
    assert [b.get("block_id") for m in answers for b in m["blocks"]].count("feedback") == 1

    [file] = shared["files"]
    slack = stack.plan.process("slack").url
    content = httpx.get(slack + file["url_private_download"], timeout=5).text
    assert "== Tool output 1" in content and "why is checkout-api failing?" in content
    calls = httpx.get(slack + "/sandbox/calls", timeout=5).json()
    uploads = [c for c in calls if c["method"] == "files.completeUploadExternal"]
    assert len(uploads) == 1 and uploads[0]["result"] == "ok"

