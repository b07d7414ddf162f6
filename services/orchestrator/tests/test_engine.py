"""The pure engine: every transition, redelivery and budget rule, without any I/O."""

import json
from datetime import timedelta

from triage_contracts.messages import AuditKind, Decision, NotifyKind, ToolStatus
from triage_orchestrator import engine
from triage_orchestrator.commands import (
    EmitAudit,
    PublishApprovalRequest,
    PublishModelCall,
    PublishNotify,
    PublishToolCall,
)
from triage_orchestrator.state import RunState, RunStatus

from .factories import (
    COMMENT,
    NOW,
    REPO,
    config,
    decision,
    model_result,
    notify_result,
    request,
    skills,
    tool_result,
    workflow,
)


def started(text: str = "why is checkout-api failing?", **kw: object) -> tuple[RunState, list]:
    return engine.start(request(text), workflow(), skills(), config(**kw), now=NOW)


def of(effects: list, kind: type) -> list:
    return [e for e in effects if isinstance(e, kind)]


def gathered(state: RunState) -> tuple[RunState, list]:
    effects: list = []
    for step_id in sorted(state.waiting_on("gather"), reverse=True):  # out of order on purpose
        tool = state.pending[step_id].command.message.tool
        state, effects = engine.on_result(state, tool_result(state.run_id, step_id, tool), now=NOW)
    return state, effects


def drafted(actions: list | None = None) -> tuple[RunState, list]:
    state, _ = gathered(started()[0])
    return engine.on_result(state, model_result(state.run_id, actions=actions), now=NOW)


def test_start_classifies_and_sends_every_gather_call_at_once() -> None:
    state, effects = started()
    assert (state.skill.name, state.repo, state.service) == ("incident", REPO, "checkout-api")
    calls = of(effects, PublishToolCall)
    assert [c.message.step_id for c in calls] == ["gather-0", "gather-1", "gather-2", "gather-3"]
    assert [c.msg_id for c in calls] == [f"{state.run_id}:gather-{i}:cmd" for i in range(4)]
    assert calls[0].subject == "triage.work.tool.T1.github_workflow_runs"
    promql = calls[3].message.arguments["query"]
    assert 'service="checkout-api",code=~"5.."' in promql and "{service}" not in promql
    assert calls[2].message.arguments == {"repo": REPO, "query": "",
                                          "state": "open", "limit": 10}
    assert state.status is RunStatus.RUNNING and set(state.pending) == {c.message.step_id
                                                                        for c in calls}
    assert any(a.kind is AuditKind.REQUEST for a in of(effects, EmitAudit))


def test_skill_and_repo_selection() -> None:
    state, effects = started("what changed in payments-api recently?")
    assert state.skill.name == "change-review" and state.repo == "demo-org/payments-api"
    assert [c.message.tool for c in of(effects, PublishToolCall)] == [
        "github.recent_commits", "github.workflow_runs"]
    state, _ = started("how do we rotate keys?", default_repo="demo-org/payments-api")
    assert state.skill.name == "general" and state.repo == "demo-org/payments-api"


def test_results_build_the_exact_draft_prompt_in_skill_order() -> None:
    state, effects = gathered(started()[0])
    (call,) = of(effects, PublishModelCall)
    assert call.msg_id == f"{state.run_id}:draft:cmd" and call.subject.endswith(".model.T1.draft")
    system, user = call.message.messages
    assert system.role == "system" and "untrusted" in system.content
    question = "<question>why is checkout-api failing?</question>"
    assert user.content.startswith(f"{question}\n<evidence>\n")
    assert user.content.endswith("\n</evidence>")
    evidence = json.loads(user.content.split("<evidence>\n")[1].split("\n</evidence>")[0])
    assert [e["source"] for e in evidence] == [
        "github.workflow_run", "github.workflow_run", "github.commit", "github.issue",
        "prometheus.query"]
    assert evidence[0]["title"] == "CI #57 failed"
    assert evidence[0]["attributes"]["head_sha"] == "abc1234def"
    assert evidence[3]["attributes"] == {"number": 42, "state": "open", "repo": REPO,
                                         "is_pull_request": False}
    assert evidence[4]["attributes"]["value"] == 0.071
    assert [t.name for t in call.message.tools] == ["github.comment_issue"]
    assert call.message.tools[0].parameters["required"] == ["repo", "issue_number", "body"]


def test_secrets_never_reach_the_prompt() -> None:
    state, _ = started()
    leaked = [{**c, "message": "oops ghp_abcdefghijklmnopqrstuvwxyz0123 leaked"}
              for c in tool_result("r", "x", "github.recent_commits").data]
    state, _ = engine.on_result(state, tool_result(state.run_id, "gather-1",
                                                    "github.recent_commits", data=leaked), now=NOW)
    state, effects = gathered(state)
    prompt = of(effects, PublishModelCall)[0].message.messages[1].content
    assert "ghp_abcdefghij" not in prompt and "[REDACTED:github_token]" in prompt


def test_duplicate_or_mismatched_results_are_ignored_without_change() -> None:
    state, _ = started()
    first = tool_result(state.run_id, "gather-0", "github.workflow_runs")
    after, effects = engine.on_result(state, first, now=NOW)
    assert after is not state and "gather-0" not in after.pending
    again, effects = engine.on_result(after, first, now=NOW)
    assert again is after and effects == []
    unknown, _ = engine.on_result(after, tool_result(state.run_id, "gather-9", "x"), now=NOW)
    assert unknown is after
    wrong_type, _ = engine.on_result(after, notify_result(state.run_id, "gather-1"), now=NOW)
    assert wrong_type is after
    wrong_tool, _ = engine.on_result(after, tool_result(state.run_id, "gather-1",
                                                         "github.search_issues"), now=NOW)
    assert wrong_tool is after


def test_answer_without_writes_replies_once_and_finishes() -> None:
    state, effects = drafted()
    (reply,) = of(effects, PublishNotify)
    assert reply.message.notify_kind is NotifyKind.REPLY and reply.msg_id.endswith(":reply:cmd")
    assert reply.message.thread_ts == "1700000000.000100"
    assert reply.message.text.startswith("*Triage:* CI broke on `abc1234`.")
    assert "skill incident v1" in reply.message.blocks[-1]["elements"][0]["text"]
    assert state.cost_usd == 0.0012 and state.action is None
    done, effects = engine.on_result(state, notify_result(state.run_id, "reply"), now=NOW)
    assert done.status is RunStatus.DONE and done.posted_ts == "1700000001.000200"
    finished = [a for a in of(effects, EmitAudit) if a.action == "run finished"]
    assert finished[0].detail["cost_usd_total"] == 0.0012
    assert engine.pending_commands(done) == []
    assert engine.on_result(done, notify_result(state.run_id, "reply"), now=NOW)[0] is done


def test_write_proposal_asks_for_approval_in_ui_and_slack() -> None:
    state, effects = drafted([COMMENT])
    assert state.status is RunStatus.WAITING_APPROVAL
    (approval,) = of(effects, PublishApprovalRequest)
    req = approval.message
    assert approval.subject == "triage.approval.request.T1"
    assert req.approval_id == state.action.approval_id and req.approval_id.startswith("apr-")
    assert req.action_digest == state.action.digest and req.requester_id == "U_REQ"
    assert req.action.arguments == COMMENT.arguments and req.evidence
    assert req.expires_at == NOW + timedelta(seconds=14400)
    (prompt,) = of(effects, PublishNotify)
    assert prompt.message.step_id == "approval-prompt"
    assert prompt.message.notify_kind is NotifyKind.APPROVAL_PROMPT
    assert prompt.message.text == "Approval needed: Comment on demo-org/checkout-api#42"
    actions = next(b for b in prompt.message.blocks if b["type"] == "actions")["elements"]
    assert [(a["action_id"], a["style"], a["value"]) for a in actions] == [
        ("approval_approve", "primary", req.approval_id),
        ("approval_reject", "danger", req.approval_id)]
    effect = prompt.message.blocks[1]["text"]["text"]
    assert "`demo-org/checkout-api#42`" in effect and "> CI #57 fails since abc1234." in effect
    link = prompt.message.blocks[-1]["elements"][0]["text"]
    assert f"http://approvals.test/approvals/{req.approval_id}" in link
    assert {p.command.msg_id for p in state.pending.values()} == {
        f"{state.run_id}:approval:cmd", f"{state.run_id}:approval-prompt:cmd"}


def test_approve_sends_one_write_with_grant_then_replies() -> None:
    state, _ = drafted([COMMENT])
    state, _ = engine.on_result(state, notify_result(state.run_id, "approval-prompt", "9.1"),
                                now=NOW)
    verdict = decision(state.run_id, state.action.approval_id, state.action.digest)
    state, effects = engine.on_decision(state, verdict, now=NOW)
    (write,) = of(effects, PublishToolCall)
    grant = write.message.grant
    assert write.message.step_id == "act-0" and write.message.arguments == COMMENT.arguments
    assert (grant.approval_id, grant.action_digest, grant.signature) == (
        verdict.approval_id, verdict.action_digest, verdict.signature)
    (update,) = of(effects, PublishNotify)
    assert update.message.update_ts == "9.1" and "Approved by <@U_APPROVER>" in update.message.text
    assert engine.on_decision(state, verdict, now=NOW)[0] is state  # a second decision
    done = tool_result(state.run_id, "act-0", "github.comment_issue",
                       data={"comment_id": 7, "url": "https://gh.test/issues/42#c7"})
    state, effects = engine.on_result(state, done, now=NOW)
    reply = of(effects, PublishNotify)[0].message.text
    assert ("✅ Commented on <https://gh.test/issues/42#c7|demo-org/checkout-api#42> "
            "(approved by <@U_APPROVER>)") in reply


def test_reject_skips_the_write_and_says_why() -> None:
    state, _ = drafted([COMMENT])
    verdict = decision(state.run_id, state.action.approval_id, state.action.digest,
                       Decision.REJECT, reason="not now")
    state, effects = engine.on_decision(state, verdict, now=NOW)
    assert of(effects, PublishToolCall) == []
    (reply,) = of(effects, PublishNotify)  # the prompt ts is unknown: no update yet
    assert "Not performed: rejected by <@U_APPROVER>: not now" in reply.message.text
    state, effects = engine.on_result(state, notify_result(state.run_id, "approval-prompt", "9.1"),
                                      now=NOW)
    (update,) = of(effects, PublishNotify)  # the late prompt ts triggers the edit
    assert update.message.update_ts == "9.1" and update.message.step_id == "approval-update"
    assert "Rejected by <@U_APPROVER>: not now" in update.message.text


def test_decision_for_another_action_is_ignored() -> None:
    state, _ = drafted([COMMENT])
    forged = decision(state.run_id, state.action.approval_id, "0" * 64)
    same, effects = engine.on_decision(state, forged, now=NOW)
    assert same is state and of(effects, EmitAudit)[0].outcome == "denied"
    other = decision(state.run_id, "apr-other", state.action.digest)
    assert engine.on_decision(state, other, now=NOW)[0] is state


def test_model_failure_reply_explains_and_lists_evidence() -> None:
    state, _ = gathered(started()[0])
    failed = model_result(state.run_id, ok=False, error="all targets failed")
    state, effects = engine.on_result(state, failed, now=NOW)
    text = of(effects, PublishNotify)[0].message.text
    assert "model call failed (all targets failed)" in text
    assert "<https://gh.test/runs/9|CI #57 failed>" in text and state.action is None


def test_failed_tool_becomes_a_note_in_the_reply() -> None:
    state, _ = started()
    broken = tool_result(state.run_id, "gather-3", "prometheus.query", status=ToolStatus.ERROR,
                         error="connection refused")
    state, _ = engine.on_result(state, broken, now=NOW)
    state, _ = gathered(state)
    state, effects = engine.on_result(state, model_result(state.run_id), now=NOW)
    assert "_Note: prometheus.query failed: connection refused_" in of(
        effects, PublishNotify)[0].message.text


def test_tool_budget_limits_calls_and_the_reply_says_so() -> None:
    spec = workflow().model_copy(update={"budgets": workflow().budgets.model_copy(
        update={"max_tool_calls": 2})})
    state, effects = engine.start(request(), spec, skills(), config(), now=NOW)
    assert len(of(effects, PublishToolCall)) == 2
    assert [f.code for f in state.findings] == ["budget"]
    state, _ = gathered(state)
    state, effects = engine.on_result(state, model_result(state.run_id), now=NOW)
    assert "2 tool call(s) skipped: max_tool_calls=2" in of(effects, PublishNotify)[0].message.text


def test_channel_not_allowed_gets_a_polite_refusal_and_nothing_else() -> None:
    state, effects = started(allowed_channels=["C_OK"])
    assert of(effects, PublishToolCall) == [] and of(effects, PublishModelCall) == []
    (reply,) = of(effects, PublishNotify)
    assert reply.message.text.startswith("Sorry, I only answer") and state.refused
    assert any(a.kind is AuditKind.POLICY for a in of(effects, EmitAudit))


def test_pending_commands_are_what_the_run_waits_on() -> None:
    state, effects = started()
    assert engine.pending_commands(state) == of(effects, PublishToolCall)
    state, _ = drafted([COMMENT])
    assert sorted(c.msg_id.split(":")[1] for c in engine.pending_commands(state)) == [
        "approval", "approval-prompt"]


def test_timeouts_reply_with_what_the_run_has() -> None:
    state, _ = started()
    assert engine.on_timeout(state, now=NOW + timedelta(seconds=60))[0] is state
    late, effects = engine.on_timeout(state, now=NOW + timedelta(seconds=1801))
    text = of(effects, PublishNotify)[0].message.text
    assert "timed out after 1800s waiting for gather-0" in text and late.pending.keys() == {
        "reply"}
    waiting, _ = drafted([COMMENT])
    assert engine.on_timeout(waiting, now=NOW + timedelta(seconds=3600))[0] is waiting
    expired, effects = engine.on_timeout(waiting, now=NOW + timedelta(hours=5))
    assert expired.approval_expired and of(effects, PublishToolCall) == []
    assert "Not performed: expired" in of(effects, PublishNotify)[0].message.text
