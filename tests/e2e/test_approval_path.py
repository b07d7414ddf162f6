"""A plan with a write: the approval page shows the exact effect; approving over HTTP
performs the write exactly once; rejecting performs none."""

import html

import httpx
import pytest
from triage_sandbox.approval_session import DevSession
from triage_sandbox.stack import Stack

from .helpers import mention, settle, thread_messages, wait_for

QUESTION = "why is checkout-api failing?"


def pending_approval(stack: Stack) -> dict[str, object] | None:
    with DevSession(stack.plan.process("approval").url, "U_APPROVER") as avery:
        items = avery.approvals("pending")
    return items[0] if items else None


def decide(
    stack: Stack, approval_id: str, user: str, decision: str, reason: str = ""
) -> httpx.Response:
    """Decide as a sandbox person: the dev identity, chosen like the page does (CSRF token
    included); no header can claim who is deciding."""
    with DevSession(stack.plan.process("approval").url, user) as person:
        return person.decide(approval_id, decision, reason)


def comments(stack: Stack) -> list[dict[str, object]]:
    return httpx.get(stack.plan.process("github").url + "/sandbox/comments", timeout=5).json()


def _prepare(stack: Stack) -> tuple[str, dict[str, object]]:
    payload = mention(stack, QUESTION)
    thread_ts = payload["event"]["ts"]
    approval = wait_for(lambda: pending_approval(stack))
    prompt = wait_for(lambda: [m for m in thread_messages(stack, thread_ts)
                               if "Approval needed" in m.get("text", "")])
    assert prompt, "the approval prompt was posted in the thread"
    return thread_ts, approval


def test_approval_page_shows_exact_effect_and_approve_writes_once(stack: Stack) -> None:
    thread_ts, approval = _prepare(stack)
    action = approval["action"]
    assert action["tool"] == "github.comment_issue"
    args = action["arguments"]
    assert args["repo"] == "demo-org/checkout-api" and args["issue_number"] == 42

    page_url = f"{stack.plan.process('approval').url}/approvals/{approval['approval_id']}"
    assert httpx.get(page_url, timeout=5).status_code == 401  # nobody chosen: the sign-in
    with DevSession(stack.plan.process("approval").url, "U_APPROVER") as avery:
        page = avery.http.get(page_url)
    assert page.status_code == 200
    assert "demo-org/checkout-api" in page.text and "42" in page.text
    # The exact comment body is on the page (HTML-escaped, as it must be).
    assert html.escape(args["body"].splitlines()[0], quote=False) in page.text

    forged = httpx.post(f"{stack.plan.process('approval').url}/api/approvals/"
                        f"{approval['approval_id']}/decision", json={"decision": "approve"},
                        headers={"X-Forwarded-User": "U_APPROVER"}, timeout=10)
    assert forged.status_code == 401  # a bare header is nobody
    assert decide(stack, approval["approval_id"], "U_REQUESTER", "approve").status_code == 403
    assert decide(stack, approval["approval_id"], "U_APPROVER", "approve").status_code == 200
    assert decide(stack, approval["approval_id"], "U_LEAD", "approve").status_code == 409

    wait_for(lambda: [c for c in comments(stack) if c.get("issue_number", 42) == 42])
    final = wait_for(lambda: [m for m in thread_messages(stack, thread_ts)
                              if "Commented" in m.get("text", "")])
    settle(3)
    assert len(comments(stack)) == 1
    assert len(final) == 1
    assert args["body"].splitlines()[0] in comments(stack)[0]["body"]


@pytest.mark.parametrize("reason", ["not now, incident commander will post"])
def test_reject_performs_no_write(stack: Stack, reason: str) -> None:
    thread_ts, approval = _prepare(stack)
    assert decide(stack, approval["approval_id"], "U_APPROVER", "reject", reason).status_code == 200
    final = wait_for(lambda: [m for m in thread_messages(stack, thread_ts)
                              if "rejected" in m.get("text", "").lower()
                              and "Approval needed" not in m.get("text", "")])
    settle(3)
    assert comments(stack) == []
    assert reason in final[0]["text"]
