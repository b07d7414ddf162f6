"""The investigation loop end to end with a model speaking the real OpenAI protocol: the
router's `openai` SDK talks to the scripted model stand-in, every service is a real
process on real NATS. Several turns, parallel calls fed back with their ids, text-less
tool-call turns, malformed and unknown calls answered as tool errors, grounding and
escaping of what the model and GitHub wrote, a follow-up in the thread."""

import json
from typing import Any

import httpx
from triage_contracts.ids import stable_id
from triage_sandbox.plan import SANDBOX_TEAM
from triage_sandbox.slack_events import thread_reply
from triage_sandbox.stack import Stack

from .helpers import mention, post_event, settle, thread_messages, wait_for

REPO = "demo-org/checkout-api"


def call(name: str, arguments: Any, call_id: str) -> dict[str, Any]:
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "name": name.replace(".", "_"), "arguments": raw}


def script(stack: Stack, rules: list[dict[str, Any]]) -> None:
    url = stack.plan.process("openai").url
    httpx.post(f"{url}/sandbox/script", json={"rules": rules}, timeout=5).raise_for_status()


def requests(stack: Stack) -> list[dict[str, Any]]:
    return httpx.get(stack.plan.process("openai").url + "/sandbox/requests", timeout=5).json()


def github(stack: Stack, path: str) -> Any:
    return httpx.get(stack.plan.process("github").url + path, timeout=5).json()


def reply_in(stack: Stack, thread_ts: str) -> dict[str, Any]:
    messages = wait_for(lambda: thread_messages(stack, thread_ts), timeout=90)
    settle()
    return thread_messages(stack, thread_ts)[0] if len(messages) == 1 else messages[-1]


CLASSIFY = {"match": {"user_contains": "</question>", "turn": 1}, "reply": {"content": "incident"}}


def test_a_multi_turn_investigation_grounded_and_escaped(scripted: Stack) -> None:
    run_url = github(scripted, f"/repos/{REPO}/actions/runs")["workflow_runs"][0]["html_url"]
    answer = (f"CI fails since e15da5d, see {run_url} and #44 (which says <!channel>). "
              "Also deadbee1, #999, https://evil.example/x and "
              "<https://evil.example|https://github.com/demo-org/checkout-api/pull/40>.")
    script(scripted, [
        {"match": {"user_contains": "<context>", "turn": 1}, "reply": {"tool_calls": [
            call("github.workflow_runs", {"repo": REPO, "limit": 3}, "call_runs"),
            call("github.recent_commits", {"repo": REPO, "limit": 3}, "call_commits")]}},
        {"match": {"user_contains": "<context>", "turn": 2}, "reply": {
            "content": "", "tool_calls": [
                call("github.workflow_jobs", '{"repo": "demo-org/checkout-api", ', "call_bad"),
                call("github.delete_repo", {"repo": REPO}, "call_unknown"),
                call("github.list_issues", {"repo": REPO, "labels": ["security-test"]},
                     "call_issues")]}},
        {"match": {"user_contains": "<context>", "turn": 3}, "reply": {"content": answer}},
        CLASSIFY,
    ])
    payload = mention(scripted, "why is checkout-api failing?")
    reply = reply_in(scripted, payload["event"]["ts"])

    agent = [r["body"] for r in requests(scripted) if "tools" in r["body"]]
    assert len(agent) == 3
    second = agent[1]["messages"]
    assert [c["id"] for c in second[2]["tool_calls"]] == ["call_runs", "call_commits"]
    assert [(m["role"], m.get("tool_call_id")) for m in second[3:5]] == [
        ("tool", "call_runs"), ("tool", "call_commits")]
    third = agent[2]["messages"]
    errors = {m["tool_call_id"]: m["content"] for m in third if m["role"] == "tool"}
    assert "not valid JSON" in errors["call_bad"]
    assert "there is no such tool" in errors["call_unknown"]
    assert "URGENT" in errors["call_issues"]  # the injection issue was really read

    text = reply["text"]
    for forbidden in ("<!channel>", "evil.example", "https://github.com/demo-org/checkout-api/pull/40"):
        assert forbidden not in text, forbidden
    assert f"<{run_url}|{run_url}>" in text
    assert "deadbee1 _(unverified)_" in text and "#999 _(unverified)_" in text
    assert "#44 (which says &lt;!channel&gt;)" in text
    assert "instructions aimed at the agent" in text  # the injection is shown to the asker
    footer = reply["blocks"][-1]["elements"][0]["text"]
    assert "openai gpt-4o-mini" in footer and "in 3 turns" in footer


def test_repeated_invalid_calls_end_with_a_clear_answer(scripted: Stack) -> None:
    script(scripted, [
        {"match": {"user_contains": "<context>"}, "reply": {
            "tool_calls": [call("github.nope", {}, "call_x")]}},
        CLASSIFY,
    ])
    payload = mention(scripted, "why is checkout-api failing?")
    text = reply_in(scripted, payload["event"]["ts"])["text"]
    assert "I could not finish the investigation" in text
    assert "only invalid tool calls 2 turns in a row" in text


def test_a_reply_in_the_thread_continues_the_investigation(scripted: Stack) -> None:
    script(scripted, [
        {"match": {"user_contains": "earlier_in_thread"}, "reply": {
            "content": "It started with run 501506 (see above)."}},
        {"match": {"user_contains": "<context>"}, "reply": {
            "content": "First answer: CI is red."}},
        CLASSIFY,
    ])
    payload = mention(scripted, "why is checkout-api failing?")
    thread_ts = payload["event"]["ts"]
    wait_for(lambda: thread_messages(scripted, thread_ts), timeout=90)
    unrelated = thread_reply(SANDBOX_TEAM, "C_TRIAGE", "U_REQUESTER", "thanks", "1.000001")
    assert post_event(scripted, unrelated).status_code == 200  # a thread the bot never answered
    follow = thread_reply(SANDBOX_TEAM, "C_TRIAGE", "U_REQUESTER", "since when?", thread_ts)
    assert post_event(scripted, follow).status_code == 200
    answers = wait_for(lambda: len(thread_messages(scripted, thread_ts)) >= 2 and
                       thread_messages(scripted, thread_ts), timeout=90)
    settle()
    assert [m["text"].split("\n")[0] for m in thread_messages(scripted, thread_ts)] == [
        "First answer: CI is red.", "It started with run 501506 (see above)."]
    assert answers and thread_messages(scripted, "1.000001") == []
    follow_up = [r["body"] for r in requests(scripted)
                 if "earlier_in_thread" in json.dumps(r["body"])]
    first_user = next(m for m in follow_up[0]["messages"] if m["role"] == "user")["content"]
    assert "<question>since when?</question>" in first_user
    assert "First answer: CI is red." in first_user


def pending(stack: Stack, run_id: str) -> set[str]:
    url = f"{stack.plan.process('orchestrator').url}/runs/{SANDBOX_TEAM}/{run_id}"
    try:
        resp = httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return set()
    return set(resp.json().get("pending", {})) if resp.status_code == 200 else set()


def test_orchestrator_tools_and_router_killed_mid_loop(scripted: Stack) -> None:
    """SIGKILL each worker while the loop waits on it: the run finishes with one reply,
    each tool call reached GitHub once, and each model turn was asked once."""
    script(scripted, [
        {"match": {"user_contains": "<context>", "turn": 1}, "reply": {"tool_calls": [
            call("github.workflow_runs", {"repo": REPO, "limit": 2}, "call_runs"),
            call("github.recent_commits", {"repo": REPO, "limit": 2}, "call_commits")]}},
        {"match": {"user_contains": "<context>", "turn": 2}, "reply": {
            "content": "CI is red since e15da5d."}},
        CLASSIFY,
    ])
    github_calls = scripted.plan.process("github").url + "/sandbox/calls"
    before = len(httpx.get(github_calls, timeout=5).json())
    scripted.kill("tools")  # turn 1's calls wait in the work queue
    payload = mention(scripted, "why is checkout-api failing?")
    run_id = stable_id("run-", SANDBOX_TEAM, payload["event_id"])
    wait_for(lambda: {"investigate-t1-c0", "investigate-t1-c1"} <= pending(scripted, run_id))
    scripted.kill("orchestrator")
    scripted.kill("router")
    scripted.restart("tools")  # the calls run; their results wait for the orchestrator
    wait_for(lambda: len(httpx.get(github_calls, timeout=5).json()) >= before + 2)
    scripted.restart("orchestrator")  # reads the results, asks turn 2 of a dead router
    wait_for(lambda: "investigate-t2" in pending(scripted, run_id))
    scripted.kill("orchestrator")  # and once more, while turn 2 is in flight
    scripted.restart("orchestrator")
    scripted.restart("router")

    reply = reply_in(scripted, payload["event"]["ts"])
    assert reply["text"].startswith("CI is red since e15da5d.")
    assert len(thread_messages(scripted, payload["event"]["ts"])) == 1
    paths = [c["path"] for c in httpx.get(github_calls, timeout=5).json()[before:]]
    assert sorted(paths) == sorted(set(paths)) and len(paths) == 2, paths
    turns = [json.dumps(r["body"]) for r in requests(scripted) if "tools" in r["body"]]
    assert len(turns) == 2  # turn 1 and turn 2, each asked once
    assert sum("call_runs" in t for t in turns) == 1  # only turn 2 carries turn 1's calls


def test_an_explicit_comment_request_is_approved_then_written_once(stack: Stack) -> None:
    """The offline agent: 'comment on #42 saying …' reads the issue, queues the write,
    the approval prompt shows it, an approver approves, the comment lands once."""
    from .test_approval_path import comments, decide, pending_approval

    payload = mention(stack, "please comment on checkout-api issue #42 saying 'Rolling back'")
    approval = wait_for(lambda: pending_approval(stack))
    assert approval["action"]["arguments"] == {
        "repo": REPO, "issue_number": 42, "body": "Rolling back"}
    thread_ts = payload["event"]["ts"]
    wait_for(lambda: [m for m in thread_messages(stack, thread_ts)
                      if "Approval needed: Comment on demo-org/checkout-api#42" in m["text"]])
    assert decide(stack, approval["approval_id"], "U_APPROVER", "approve").status_code == 200
    wait_for(lambda: [m for m in thread_messages(stack, thread_ts)
                      if "Commented on" in m.get("text", "")], timeout=90)
    settle()
    written = [c for c in comments(stack) if "Rolling back" in str(c.get("body"))]
    assert len(written) == 1
