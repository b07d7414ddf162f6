"""The offline rules agent as a pure function: it speaks the tool-calling protocol, follows
what the tools returned, answers only from their outputs, and is deterministic."""

import json
import re

from triage_contracts.messages import ChatMessage, ModelCall
from triage_router.providers.offline import classify, complete_offline

from .conversations import INCIDENT_TURNS, REPO, model_call


def names(completion) -> list[str]:  # type: ignore[no-untyped-def]
    return [call.name for call in completion.tool_calls]


def test_the_first_turn_asks_for_the_incident_tools_at_once() -> None:
    first = complete_offline(model_call(plan=[], tools=[
        "prometheus.alerts", "github.workflow_runs", "github.recent_commits",
        "github.list_issues", "prometheus.query_range", "github.search_code"]))
    assert first.content == "" and first.finish_reason == "tool_calls"
    assert names(first) == ["prometheus.alerts", "github.workflow_runs",
                            "github.recent_commits", "github.list_issues",
                            "prometheus.query_range"]
    assert [c.id for c in first.tool_calls] == [f"call_t1_{i}" for i in range(5)]
    assert json.loads(first.tool_calls[1].arguments) == {"repo": REPO, "limit": 10}
    promql = json.loads(first.tool_calls[4].arguments)["query"]
    assert 'service="checkout-api",code=~"5.."' in promql


def test_it_follows_what_came_back_then_proposes_the_summary_comment() -> None:
    tools = ["github.workflow_jobs", "github.commit_pulls", "github.job_log",
             "github.comment_issue", "prometheus.alerts", "github.workflow_runs",
             "github.recent_commits", "github.list_issues", "prometheus.query_range"]
    second = complete_offline(model_call(plan=INCIDENT_TURNS[:1], tools=tools))
    assert names(second) == ["github.workflow_jobs", "github.commit_pulls"]
    assert json.loads(second.tool_calls[0].arguments) == {"repo": REPO, "run_id": 9001}
    third = complete_offline(model_call(plan=INCIDENT_TURNS[:2], tools=tools))
    assert names(third) == ["github.job_log"]
    fourth = complete_offline(model_call(plan=INCIDENT_TURNS, tools=tools))
    [comment] = fourth.tool_calls
    body = json.loads(comment.arguments)
    assert (comment.name, body["issue_number"]) == ("github.comment_issue", 42)
    assert "https://github.com/demo-org/checkout-api/actions/runs/9001" in body["body"]
    assert "https://github.com/demo-org/checkout-api/pull/40" in body["body"]
    # Without the write tool offered, it answers instead of proposing.
    assert complete_offline(model_call(plan=INCIDENT_TURNS, tools=tools[:-1][:3])).content


def test_the_answer_cites_only_fetched_links_and_says_it_is_rules(expected_answer: str) -> None:
    answer = complete_offline(model_call(final=True))
    assert answer.content == expected_answer and answer.tool_calls == []
    assert answer.content.endswith("_Offline rules (no model configured): the facts the tools "
                                   "returned, not a diagnosis._")
    call = model_call(final=True)
    fetched = " ".join(m.content for m in call.messages if m.role == "tool")
    urls = re.findall(r"\]\((https?://[^)]+)\)", answer.content)
    assert len(urls) == 5  # run, commit, pull request, job, issue
    for url in urls:
        assert url in fetched.replace("\\/", "/"), url


def test_same_input_gives_byte_identical_output() -> None:
    call = model_call()
    first, second = complete_offline(call), complete_offline(call.model_copy())
    assert first == second


def test_an_explicit_comment_request_is_a_write_call_or_an_honest_refusal() -> None:
    question = "please comment on checkout-api issue #42 saying 'Rolling back'"
    asked = complete_offline(model_call(question, plan=[], tools=["github.comment_issue"]))
    [comment] = asked.tool_calls
    assert json.loads(comment.arguments) == {"repo": REPO, "issue_number": 42,
                                             "body": "Rolling back"}
    # With the issue readable, it checks that the issue exists before queuing the write.
    both = ["github.get_issue", "github.comment_issue"]
    [read] = complete_offline(model_call(question, plan=[], tools=both)).tool_calls
    assert (read.name, json.loads(read.arguments)["number"]) == ("github.get_issue", 42)
    issue = {"number": 42, "title": "t", "url": "https://github.com/demo-org/checkout-api/issues/42"}
    after = model_call(question, plan=[[("github.get_issue", json.loads(read.arguments), issue)]],
                       tools=both)
    [write] = complete_offline(after).tool_calls
    assert write.name == "github.comment_issue"
    refused = complete_offline(model_call(question, plan=[], tools=["github.workflow_runs"]))
    assert refused.tool_calls == [] and "not enabled" in refused.content
    assert "nothing was written" in refused.content


def test_failed_tools_and_unconfigured_repositories_are_said() -> None:
    failed = model_call(final=True)
    broken = ChatMessage(role="tool", tool_call_id="c10", content=(
        '<tool_output tool="prometheus.alerts" call="x" trust="untrusted">\n'
        '{"status": "error", "error": "ALERTMANAGER_URL is unset"}\n</tool_output>'))
    messages = failed.messages[:3] + [broken] + failed.messages[4:]
    answer = complete_offline(failed.model_copy(update={"messages": messages})).content
    assert "Could not check: prometheus.alerts (ALERTMANAGER_URL is unset)" in answer


def test_classify_takes_the_first_keyword_hint_or_the_fallback() -> None:
    def call(hints: str) -> ModelCall:
        system = ("Pick the one skill.\nSkills:\n- incident: failing\n- change-review: what "
                  f"changed\n- general: anything\nKeyword hints (may be wrong): {hints}")
        return model_call(route="classify").model_copy(update={"messages": [
            ChatMessage(role="system", content=system),
            ChatMessage(role="user", content="<question>x</question>")]})

    assert classify(call("change-review, incident")) == "change-review"
    assert classify(call("none")) == "general"
    assert complete_offline(call("incident")).content == "incident"
