"""The investigation loop as pure engine transitions: turns, parallel calls, ids, tool
messages, invalid calls, limits, writes queued for approval, crash-safe re-sending."""

from datetime import timedelta

from triage_contracts.messages import ModelResult, NotifyKind, Usage
from triage_orchestrator import engine
from triage_orchestrator.commands import (
    PublishApprovalRequest,
    PublishModelCall,
    PublishNotify,
    PublishToolCall,
)
from triage_orchestrator.progress import progress_text
from triage_orchestrator.state import RunStatus

from .factories import (
    NOW,
    REPO,
    TEAM,
    call,
    config,
    model_result,
    request,
    skills,
    waiting_model,
    workflow,
)
from .flows import READS, answer_tools, classified, of


def test_classify_asks_the_model_with_the_skill_descriptions() -> None:
    state, effects = engine.start(request("why is checkout-api failing?"), workflow(), skills(),
                                  config(), now=NOW)
    [classify] = of(effects, PublishModelCall)
    assert classify.message.route == "classify"
    assert classify.msg_id == f"{state.run_id}:classify:cmd"
    system = classify.message.messages[0].content
    assert "- incident:" in system and "- general:" in system
    assert "Keyword hints (may be wrong): incident" in system
    state, effects = engine.on_result(state, model_result(state, content="change-review"), now=NOW)
    assert state.skill is not None and state.skill.name == "change-review"
    assert state.skill.sha256 and (state.repo, state.service) == (REPO, "checkout-api")


def test_an_unknown_skill_name_falls_back_to_the_keyword_rules() -> None:
    state, _ = classified(skill="I think it is a database problem")
    assert state.skill is not None and state.skill.name == "incident"


def test_the_first_turn_offers_the_skills_tools_within_the_budgets() -> None:
    state, effects = classified()
    [turn] = of(effects, PublishModelCall)
    message = turn.message
    assert (message.route, message.step_id, message.tool_choice) == ("agent", "investigate-t1",
                                                                      "auto")
    assert turn.msg_id == f"{state.run_id}:investigate-t1:cmd"
    offered = {t.name for t in message.tools}
    assert {"github.workflow_runs", "github.job_log", "prometheus.query_range",
            "github.comment_issue", "output.page"} <= offered
    assert "github.search_code" not in offered  # not in the incident skill
    assert message.max_cost_usd == 0.5 - 0.0012  # what the classify call left
    assert '"services": {"demo-org/checkout-api": "checkout-api"' in message.messages[1].content


def test_parallel_calls_run_and_come_back_as_tool_messages_in_the_models_order() -> None:
    state, _ = classified()
    calls = [call("github.workflow_runs", {"repo": REPO}, "c-runs"),
             call("github.recent_commits", {"repo": REPO, "limit": 5}, "c-commits")]
    state, effects = engine.on_result(state, model_result(state, calls=calls), now=NOW)
    sent = of(effects, PublishToolCall)
    assert [s.message.step_id for s in sent] == ["investigate-t1-c0", "investigate-t1-c1"]
    assert [s.msg_id for s in sent] == [f"{state.run_id}:investigate-t1-c{i}:cmd" for i in (0, 1)]
    assert sent[0].subject == f"triage.work.tool.{TEAM}.github_workflow_runs"
    state, effects = answer_tools(state)  # answers arrive in reverse order
    [turn2] = of(effects, PublishModelCall)
    messages = turn2.message.messages
    assert messages[2].role == "assistant" and [c.id for c in messages[2].tool_calls] == [
        "c-runs", "c-commits"]
    assert [(m.role, m.tool_call_id) for m in messages[3:5]] == [("tool", "c-runs"),
                                                                  ("tool", "c-commits")]
    assert 'tool="github.workflow_runs"' in messages[3].content
    assert "https://gh.test/runs/9" in messages[3].content
    assert turn2.message.step_id == "investigate-t2"
    assert state.evidence and state.counters.tool_calls == 2


def test_the_answer_ends_the_loop_and_the_reply_carries_it_with_a_footer() -> None:
    state, _ = classified()
    state, _ = engine.on_result(state, model_result(
        state, calls=[call("github.workflow_runs", {"repo": REPO})]), now=NOW)
    state, _ = answer_tools(state)
    state, effects = engine.on_result(state, model_result(
        state, content="CI run 57 fails since `abc1234` (https://gh.test/runs/9)."), now=NOW)
    [reply] = [e for e in effects if getattr(e, "subject", "").startswith("triage.work.notify")]
    assert "<https://gh.test/runs/9|https://gh.test/runs/9>" in reply.message.text
    footer = reply.message.blocks[-1]["elements"][0]["text"]
    assert "skill incident v2" in footer and "1 tool calls in 2 turns" in footer
    assert "offline rules" in footer


def test_text_less_calls_malformed_arguments_and_unknown_tools_are_tool_errors() -> None:
    state, _ = classified()
    bad = [call("github.workflow_runs", '{"repo": "demo-org/checkout-api"', "c-json"),
           call("github.delete_repo", {"repo": REPO}, "c-unknown"),
           call("github.recent_commits", {"repo": REPO, "limit": 500}, "c-schema"),
           call("github.recent_commits", {"repo": "evil/elsewhere"}, "c-repo")]
    state, effects = engine.on_result(state, model_result(state, calls=bad), now=NOW)
    assert of(effects, PublishToolCall) == []  # nothing ran
    [turn2] = of(effects, PublishModelCall)
    tools = [m for m in turn2.message.messages if m.role == "tool"]
    assert [m.tool_call_id for m in tools] == ["c-json", "c-unknown", "c-schema", "c-repo"]
    assert "not valid JSON" in tools[0].content
    assert "there is no such tool" in tools[1].content
    assert "github.workflow_runs" in tools[1].content  # what exists instead
    assert "limit: Input should be less than or equal to 100" in tools[2].content
    assert "'evil/elsewhere' is not configured" in tools[3].content


def test_repeated_invalid_calls_stop_the_loop_with_a_clear_answer() -> None:
    state, _ = classified()
    for _ in range(2):
        state, effects = engine.on_result(state, model_result(
            state, calls=[call("nope.tool", {})]), now=NOW)
    assert of(effects, PublishModelCall) == []
    assert state.investigation is not None and "only invalid tool calls" in str(
        state.investigation.stopped)
    assert state.draft.startswith("I could not finish the investigation")


def test_the_turn_limit_makes_the_last_turn_answer_without_tools() -> None:
    spec = workflow().model_copy(update={"budgets": workflow().budgets.model_copy(
        update={"max_turns": 2})})
    state, _ = classified(spec=spec)
    state, _ = engine.on_result(state, model_result(
        state, calls=[call("github.workflow_runs", {"repo": REPO})]), now=NOW)
    state, effects = answer_tools(state)
    [last] = of(effects, PublishModelCall)
    assert last.message.tool_choice == "none"
    assert "Stop investigating: the limit of 2 model turns is reached" in \
        last.message.messages[-1].content
    state, _ = engine.on_result(state, model_result(state, content="Best effort."), now=NOW)
    assert "Investigation cut short: the limit of 2 model turns is reached." in state.notes


def test_calls_beyond_the_tool_budget_are_not_run_and_the_reply_says_so() -> None:
    budgets = workflow().budgets.model_copy(update={"max_tool_calls": 1})
    state, _ = classified(spec=workflow().model_copy(update={"budgets": budgets}))
    calls = [call("github.workflow_runs", {"repo": REPO}, "a"),
             call("github.recent_commits", {"repo": REPO}, "b")]
    state, effects = engine.on_result(state, model_result(state, calls=calls), now=NOW)
    assert len(of(effects, PublishToolCall)) == 1
    state, effects = answer_tools(state)
    [last] = of(effects, PublishModelCall)
    assert last.message.tool_choice == "none"  # the tool budget is spent: answer now
    assert "limit of 1 tool calls is reached" in last.message.messages[-2].content


def test_token_and_dollar_limits_end_the_loop_without_another_model_call() -> None:
    state, _ = classified()
    big = Usage(prompt_tokens=59_000, completion_tokens=2_000, cost_usd=0.01)
    state, effects = engine.on_result(state, model_result(
        state, calls=[call("github.workflow_runs", {"repo": REPO})], usage=big), now=NOW)
    state, effects = answer_tools(state)
    assert of(effects, PublishModelCall) == []
    assert "limit of 60000 model tokens" in str(state.investigation.stopped)
    state, _ = classified()
    refused = model_result(state, ok=False, error="worst case $0.9 exceeds $0.5",
                           error_code="run_budget")
    state, _ = engine.on_result(state, refused, now=NOW)
    assert "dollar limit" in str(state.investigation.stopped)


def test_the_wall_clock_limit_makes_the_next_turn_the_last() -> None:
    state, _ = classified()
    later = NOW + timedelta(seconds=400)
    state, _ = engine.on_result(state, model_result(
        state, calls=[call("github.workflow_runs", {"repo": REPO})]), now=later)
    state, effects = answer_tools(state, now=later)
    assert of(effects, PublishModelCall)[0].message.tool_choice == "none"


def test_a_write_call_is_queued_for_approval_not_run() -> None:
    state, _ = classified("please comment on checkout-api issue #42 saying 'Rolling back'",
                          skill="general")
    comment = call("github.comment_issue", {"repo": REPO, "issue_number": 42,
                                            "body": "Rolling back"})
    state, effects = engine.on_result(state, model_result(state, calls=[comment]), now=NOW)
    assert of(effects, PublishToolCall) == []
    [turn2] = of(effects, PublishModelCall)
    assert "queued_for_approval" in turn2.message.messages[-1].content
    state, effects = engine.on_result(state, model_result(
        state, content="I queued the comment; it awaits approval."), now=NOW)
    [approval] = of(effects, PublishApprovalRequest)
    assert approval.message.action.arguments["body"] == "Rolling back"
    assert state.status is RunStatus.WAITING_APPROVAL


def test_a_redelivered_answer_changes_nothing_and_pending_calls_are_re_sent() -> None:
    state, _ = classified()
    result = model_result(state, calls=[call("github.workflow_runs", {"repo": REPO})])
    state, _ = engine.on_result(state, result, now=NOW)
    again, effects = engine.on_result(state, result, now=NOW)
    assert again is state and effects == []
    pending = engine.pending_commands(state)
    assert [c.msg_id for c in pending] == [f"{state.run_id}:investigate-t1-c0:cmd"]


def test_a_timeout_in_the_loop_replies_with_what_was_found() -> None:
    state, _ = classified()
    state, _ = engine.on_result(state, model_result(
        state, calls=[call("github.workflow_runs", {"repo": REPO})]), now=NOW)
    state, _ = answer_tools(state)
    assert isinstance(waiting_model(state), PublishModelCall)
    state, effects = engine.on_timeout(state, now=NOW + timedelta(hours=1))
    [reply] = [e for e in effects if getattr(e, "subject", "").startswith("triage.work.notify")]
    assert "I could not finish the investigation: timed out" in reply.message.text
    assert "https://gh.test/runs/9" in reply.message.text


def test_model_failure_answers_from_the_evidence() -> None:
    state, _ = classified()
    failed = ModelResult(team_id=TEAM, run_id=state.run_id, step_id="investigate-t1",
                         route="agent", ok=False, error="all targets failed")
    state, _ = engine.on_result(state, failed, now=NOW)
    assert "the model call failed (all targets failed)" in state.draft


def test_each_turn_of_reads_tells_the_asker_what_it_reads() -> None:
    state, _ = classified()
    state, effects = engine.on_result(state, model_result(state, calls=READS), now=NOW)
    [status] = [n for n in of(effects, PublishNotify)
                if n.message.notify_kind is NotifyKind.STATUS]
    assert status.message.text == progress_text([c.name for c in READS])
    assert status.message.thread_ts == state.request.thread_ts
    # Not awaited: the run waits on its tool calls only, and never re-sends a status.
    assert status.message.step_id not in state.pending
    assert all(p.command.msg_id != status.msg_id for p in state.pending.values())


def test_the_status_names_what_the_tools_read() -> None:
    assert progress_text(["github.workflow_runs"]) == "Reading CI runs…"
    assert progress_text(["github.workflow_runs", "github.recent_commits",
                          "prometheus.query_range", "github.recent_commits"]) == (
        "Reading CI runs, commits and metrics…")
    assert progress_text(["github.someday_tool"]) == "Reading GitHub…"
