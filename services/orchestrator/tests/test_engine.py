"""The pure engine around the investigation: replies, approvals, writes, refusals,
follow-ups, redelivery and timeouts, without any I/O."""

from datetime import timedelta

from triage_contracts.messages import AuditKind, Decision, NotifyKind, RequestKind, ToolStatus
from triage_orchestrator import engine
from triage_orchestrator.commands import (
    EmitAudit,
    PublishApprovalRequest,
    PublishModelCall,
    PublishNotify,
    PublishToolCall,
    RecordThread,
    ThreadContext,
)
from triage_orchestrator.state import RunStatus

from .factories import (
    COMMENT,
    NOW,
    REPO,
    call,
    config,
    decision,
    model_result,
    notify_result,
    request,
    skills,
    tool_result,
    workflow,
)
from .flows import READS, answer_tools, classified, investigated, of


def test_start_records_the_request_and_asks_for_the_skill() -> None:
    state, effects = engine.start(request(), workflow(), skills(), config(), now=NOW)
    assert [c.message.route for c in of(effects, PublishModelCall)] == ["classify"]
    assert state.status is RunStatus.RUNNING and set(state.pending) == {"classify"}
    assert any(a.kind is AuditKind.REQUEST for a in of(effects, EmitAudit))


def test_repository_selection_and_unknown_repositories() -> None:
    state, _ = classified("what changed in payments-api recently?", "change-review")
    assert state.repo == "demo-org/payments-api" and state.unknown_repos == []
    state, effects = classified("why is billing-api failing?")
    assert state.repo is None and state.unknown_repos == ["billing-api"]
    [turn] = of(effects, PublishModelCall)
    assert '"not_configured": ["billing-api"]' in turn.message.messages[1].content
    assert any(f.code == "unknown_repo" for f in state.findings)


def test_secrets_never_reach_the_prompt() -> None:
    state, _ = classified()
    leaked = [{"sha": "abc1234def", "message": "oops ghp_abcdefghijklmnopqrstuvwxyz0123 leaked",
               "url": "https://gh.test/c/abc1234"}]
    state, _ = engine.on_result(state, model_result(
        state, calls=[call("github.recent_commits", {"repo": REPO})]), now=NOW)
    result = tool_result(state.run_id, "investigate-t1-c0", "github.recent_commits", data=leaked)
    state, effects = engine.on_result(state, result, now=NOW)
    prompt = of(effects, PublishModelCall)[0].message.messages[-1].content
    assert "ghp_abcdefghij" not in prompt and "[REDACTED:github_token]" in prompt


def test_duplicate_or_mismatched_results_are_ignored_without_change() -> None:
    state, _ = classified()
    state, _ = engine.on_result(state, model_result(state, calls=READS), now=NOW)
    first = tool_result(state.run_id, "investigate-t1-c0", "github.workflow_runs")
    after, _ = engine.on_result(state, first, now=NOW)
    assert after is not state and "investigate-t1-c0" not in after.pending
    again, effects = engine.on_result(after, first, now=NOW)
    assert again is after and effects == []
    assert engine.on_result(after, tool_result(state.run_id, "x-9", "x"), now=NOW)[0] is after
    wrong_type = notify_result(state.run_id, "investigate-t1-c1")
    assert engine.on_result(after, wrong_type, now=NOW)[0] is after
    wrong_tool = tool_result(state.run_id, "investigate-t1-c1", "github.search_issues")
    assert engine.on_result(after, wrong_tool, now=NOW)[0] is after


def test_answer_without_writes_replies_once_and_finishes() -> None:
    state, effects = investigated()
    (reply,) = of(effects, PublishNotify)
    # The thread is remembered in the same transition that sends the answer (stored
    # before the state is saved), so a reply typed as soon as the answer shows follows up.
    [thread] = of(effects, RecordThread)
    assert (thread.channel_id, thread.thread_ts) == ("C1", "1700000000.000100")
    assert thread.record is not None and thread.record.follow_ups == 0
    assert thread.record.evidence and "CI #57 fails since" in thread.record.answer
    assert reply.message.notify_kind is NotifyKind.REPLY and reply.msg_id.endswith(":reply:cmd")
    rating = next(b for b in reply.message.blocks if b.get("block_id") == "feedback")
    assert [(e["action_id"], e["value"]) for e in rating["elements"]] == [
        ("feedback_good", state.run_id), ("feedback_bad", state.run_id)]
    assert reply.message.thread_ts == "1700000000.000100"
    assert reply.message.text.startswith("*Triage:* CI #57 fails since `abc1234`")
    assert state.action is None and state.cost_usd == 3 * 0.0012
    done, effects = engine.on_result(state, notify_result(state.run_id, "reply"), now=NOW)
    assert done.status is RunStatus.DONE and done.posted_ts == "1700000001.000200"
    finished = [a for a in of(effects, EmitAudit) if a.action == "run finished"]
    assert finished[0].detail["turns"] == 2 and finished[0].detail["tool_calls"] == 2
    assert of(effects, RecordThread) == []
    assert engine.pending_commands(done) == []
    assert engine.on_result(done, notify_result(state.run_id, "reply"), now=NOW)[0] is done


def test_a_reply_slack_refused_forgets_the_thread_it_would_have_started() -> None:
    state, _ = investigated()
    failed, effects = engine.on_result(state, notify_result(state.run_id, "reply", ok=False),
                                       now=NOW)
    assert failed.status is RunStatus.FAILED and "channel_not_found" in (failed.error or "")
    [forget] = of(effects, RecordThread)
    assert forget.thread_ts == "1700000000.000100" and forget.record is None


def test_write_call_asks_for_approval_in_ui_and_slack() -> None:
    state, effects = investigated([COMMENT])
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
    assert actions[0]["confirm"]["title"]["text"] == "Approve this write?"
    effect = prompt.message.blocks[1]["text"]["text"]
    assert "`demo-org/checkout-api#42`" in effect and "> CI #57 fails since abc1234." in effect
    link = prompt.message.blocks[-1]["elements"][0]["text"]
    assert f"http://approvals.test/approvals/{req.approval_id}" in link
    assert {p.command.msg_id for p in state.pending.values()} == {
        f"{state.run_id}:approval:cmd", f"{state.run_id}:approval-prompt:cmd"}


def test_an_effect_too_long_for_slack_offers_no_approve_button_there() -> None:
    long = COMMENT.model_copy(update={"arguments": {**COMMENT.arguments,
                                                    "body": "line of text\n" * 400}})
    state, effects = investigated([long])
    (prompt,) = of(effects, PublishNotify)
    actions = next(b for b in prompt.message.blocks if b["type"] == "actions")["elements"]
    assert [a["action_id"] for a in actions] == ["approval_reject"]
    assert "cut: the effect is longer than Slack shows" in prompt.message.blocks[1]["text"]["text"]


def test_approve_sends_one_write_with_grant_then_replies() -> None:
    state, _ = investigated([COMMENT])
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
    state, _ = investigated([COMMENT])
    verdict = decision(state.run_id, state.action.approval_id, state.action.digest,
                       Decision.REJECT, reason="not now <!channel>")
    state, effects = engine.on_decision(state, verdict, now=NOW)
    assert of(effects, PublishToolCall) == []
    (reply,) = of(effects, PublishNotify)  # the prompt ts is unknown: no update yet
    assert "Not performed: rejected by <@U_APPROVER>: not now &lt;!channel&gt;" in \
        reply.message.text
    state, effects = engine.on_result(state, notify_result(state.run_id, "approval-prompt", "9.1"),
                                      now=NOW)
    (update,) = of(effects, PublishNotify)  # the late prompt ts triggers the edit
    assert update.message.update_ts == "9.1" and update.message.step_id == "approval-update"
    assert "Rejected by <@U_APPROVER>: not now" in update.message.text


def test_decision_for_another_action_is_ignored() -> None:
    state, _ = investigated([COMMENT])
    forged = decision(state.run_id, state.action.approval_id, "0" * 64)
    same, effects = engine.on_decision(state, forged, now=NOW)
    assert same is state and of(effects, EmitAudit)[0].outcome == "denied"
    other = decision(state.run_id, "apr-other", state.action.digest)
    assert engine.on_decision(state, other, now=NOW)[0] is state


def test_failed_tool_becomes_a_note_in_the_reply() -> None:
    state, _ = classified()
    state, _ = engine.on_result(state, model_result(state, calls=READS), now=NOW)
    state, _ = answer_tools(state, status=ToolStatus.ERROR)
    state, effects = engine.on_result(state, model_result(state, content="Partial."), now=NOW)
    text = of(effects, PublishNotify)[0].message.text
    assert "_Note: Not checked: github.workflow_runs failed: boom_" in text


def test_channel_not_allowed_gets_a_polite_refusal_and_nothing_else() -> None:
    state, effects = engine.start(request(), workflow(), skills(),
                                  config(allowed_channels=["C_OK"]), now=NOW)
    assert of(effects, PublishToolCall) == [] and of(effects, PublishModelCall) == []
    (reply,) = of(effects, PublishNotify)
    assert reply.message.text.startswith("Sorry, I only answer") and state.refused
    assert all(b.get("block_id") != "feedback" for b in reply.message.blocks)  # no rating
    assert any(a.kind is AuditKind.POLICY for a in of(effects, EmitAudit))


def test_replies_carry_the_requests_enterprise_for_grid_installs() -> None:
    grid = request().model_copy(update={"enterprise_id": "E0ACME"})
    _, effects = engine.start(grid, workflow(), skills(), config(allowed_channels=["C_OK"]),
                              now=NOW)
    (reply,) = of(effects, PublishNotify)
    assert reply.message.enterprise_id == "E0ACME"


def test_a_follow_up_continues_from_the_threads_earlier_answer() -> None:
    earlier = ThreadContext(run_id="run-1", question="why is checkout-api failing?",
                            answer="CI broke on abc1234.", follow_ups=1)
    follow = request("and since when?", event_id="Ev2").model_copy(
        update={"request_kind": RequestKind.THREAD_REPLY, "in_thread": True})
    assert engine.admits(follow, earlier) and not engine.admits(follow, None)
    state, _ = engine.start(follow, workflow(), skills(), config(), now=NOW, thread=earlier)
    state, effects = engine.on_result(state, model_result(state, content="incident"), now=NOW)
    first = of(effects, PublishModelCall)[0].message.messages[1].content
    assert "<earlier_in_thread" in first and "CI broke on abc1234." in first
    spent = earlier.model_copy(update={"follow_ups": 10})
    state, effects = engine.start(follow, workflow(), skills(), config(), now=NOW, thread=spent)
    (reply,) = of(effects, PublishNotify)
    assert "limit of 10 follow-up questions" in reply.message.text


def test_pending_commands_are_what_the_run_waits_on() -> None:
    state, effects = engine.start(request(), workflow(), skills(), config(), now=NOW)
    assert engine.pending_commands(state) == of(effects, PublishModelCall)
    state, _ = investigated([COMMENT])
    assert sorted(c.msg_id.split(":")[1] for c in engine.pending_commands(state)) == [
        "approval", "approval-prompt"]


def test_timeouts_reply_with_what_the_run_has() -> None:
    state, _ = engine.start(request(), workflow(), skills(), config(), now=NOW)
    assert engine.on_timeout(state, now=NOW + timedelta(seconds=60))[0] is state
    late, effects = engine.on_timeout(state, now=NOW + timedelta(seconds=1801))
    text = of(effects, PublishNotify)[0].message.text
    assert "timed out after 1800s waiting for classify" in text
    assert late.pending.keys() == {"reply"}
    waiting, _ = investigated([COMMENT])
    assert engine.on_timeout(waiting, now=NOW + timedelta(seconds=3600))[0] is waiting
    expired, effects = engine.on_timeout(waiting, now=NOW + timedelta(hours=5))
    assert expired.approval_expired and of(effects, PublishToolCall) == []
    assert "Not performed: expired" in of(effects, PublishNotify)[0].message.text
