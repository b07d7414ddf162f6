"""Read tools end to end: a ToolCall on JetStream, the real PyGithub/httpx clients against
the stand-ins over real HTTP, a ToolResult on the run's result subject, an audit event."""

from typing import Any

import pytest
from pydantic import SecretStr
from triage_contracts.bus import jetstream
from triage_contracts.messages import AuditKind, ToolStatus
from triage_sandbox.demo_data import BAD_COMMIT_MESSAGE, INCIDENT_ISSUE, Demo

CHECKOUT = "demo-org/checkout-api"
REPOS = ["demo-org/checkout-api", "demo-org/payments-api"]


async def test_search_issues_finds_the_incident(tools: Any) -> None:
    result = await tools.call("github.search_issues",
                              {"repo": CHECKOUT, "query": "502", "state": "open"})
    assert result.status == ToolStatus.SUCCESS, result.error
    [issue] = result.data
    assert issue["number"] == INCIDENT_ISSUE
    assert issue["title"] == "Checkout returns 502 for some card payments"
    assert issue["state"] == "open" and issue["is_pull_request"] is False
    assert issue["author"] == "dana-oncall" and "incident" in issue["labels"]
    assert issue["url"].endswith(f"/issues/{INCIDENT_ISSUE}") and issue["updated_at"]


async def test_search_issues_marks_pull_requests_and_honours_state_and_limit(tools: Any) -> None:
    every = await tools.call("github.search_issues",
                             {"repo": CHECKOUT, "query": "", "state": "all", "limit": 10})
    assert sorted(i["number"] for i in every.data) == [38, 41, INCIDENT_ISSUE]
    assert [i["is_pull_request"] for i in every.data if i["number"] == 41] == [True]
    limited = await tools.call("github.search_issues",
                               {"repo": CHECKOUT, "query": "", "state": "all", "limit": 2})
    assert len(limited.data) == 2


async def test_search_without_hits_is_no_data(tools: Any) -> None:
    result = await tools.call("github.search_issues",
                              {"repo": "demo-org/payments-api", "query": "502"})
    assert result.status == ToolStatus.NO_DATA and result.data == []


async def test_recent_commits_newest_first(tools: Any, demo: Demo) -> None:
    result = await tools.call("github.recent_commits", {"repo": CHECKOUT, "limit": 10})
    assert result.status == ToolStatus.SUCCESS, result.error
    assert len(result.data) == 6
    head = result.data[0]
    assert head["sha"] == demo.bad_commit.sha
    assert head["message"].startswith(BAD_COMMIT_MESSAGE)
    assert head["author"] == "chen-payments" and head["url"].endswith(head["sha"])
    assert head["date"].startswith(demo.bad_commit.date.date().isoformat())
    few = await tools.call("github.recent_commits", {"repo": CHECKOUT, "limit": 2})
    assert [c["sha"] for c in few.data] == [c["sha"] for c in result.data[:2]]


async def test_workflow_runs_show_ci_failing_on_the_bad_commit(tools: Any, demo: Demo) -> None:
    result = await tools.call("github.workflow_runs", {"repo": CHECKOUT})
    assert result.status == ToolStatus.SUCCESS, result.error
    assert len(result.data) == 5  # the default limit
    latest = result.data[0]
    assert latest["name"] == "CI" and latest["conclusion"] == "failure"
    assert latest["head_sha"] == demo.bad_commit.sha and latest["branch"] == "main"
    assert latest["status"] == "completed" and latest["run_number"] == 6
    assert {r["conclusion"] for r in result.data if r["head_sha"] != demo.bad_commit.sha} == {
        "success"}


async def test_prometheus_query_serves_the_error_ratio(tools: Any) -> None:
    query = ('sum(rate(http_requests_total{service="checkout-api",code=~"5.."}[5m])) / '
             'sum(rate(http_requests_total{service="checkout-api"}[5m]))')
    result = await tools.call("prometheus.query", {"query": query})
    assert result.status == ToolStatus.SUCCESS, result.error
    assert result.data["resultType"] == "vector"
    [sample] = result.data["result"]
    assert sample["metric"]["service"] == "checkout-api"
    assert 0.06 < float(sample["value"][1]) < 0.08


async def test_prometheus_bad_query_is_an_error_the_model_can_fix(tools: Any) -> None:
    result = await tools.call("prometheus.query", {"query": 'up{service="checkout-api"'})
    assert result.status == ToolStatus.ERROR
    assert "bad_data" in result.error
    assert "parse error: unexpected end of input inside braces" in result.error


async def test_repo_outside_the_allow_list_is_refused_with_the_list(tools: Any,
                                                                    github: Any) -> None:
    result = await tools.call("github.recent_commits", {"repo": "demo-org/secrets"})
    assert result.status == ToolStatus.ERROR
    assert result.error == ("repo 'demo-org/secrets' is not in GITHUB_REPOS: "
                            "['demo-org/checkout-api', 'demo-org/payments-api']")
    assert not [c for c in github.get("/sandbox/calls") if "secrets" in c["path"]]


async def test_query_may_not_widen_the_repository_scope(tools: Any, github: Any) -> None:
    result = await tools.call("github.search_issues",
                              {"repo": CHECKOUT, "query": "token repo:other-org/private"})
    assert result.status == ToolStatus.ERROR
    assert "query: " in result.error and "'repo:' is not allowed" in result.error
    assert github.get("/sandbox/calls") == []


@pytest.mark.parametrize(("arguments", "fragments"), [
    ({"repo": CHECKOUT, "limit": 500}, ["limit: Input should be less than or equal to 100",
                                        "(got 500)"]),
    ({"repo": CHECKOUT, "author": "alice-dev"}, ["author: Extra inputs are not permitted"]),
    ({"repo": CHECKOUT, "since": "yesterday"}, ["since: Input should be a valid datetime"]),
    ({"limit": 3}, ["repo: Field required"]),
    ({"repo": "not a repo"}, ["repo: String should match pattern"]),
])
async def test_invalid_arguments_list_every_problem(
    tools: Any, arguments: dict[str, Any], fragments: list[str]
) -> None:
    result = await tools.call("github.recent_commits", arguments)
    assert result.status == ToolStatus.ERROR
    assert result.error.startswith("invalid arguments for github.recent_commits: ")
    for fragment in fragments:
        assert fragment in result.error
    assert result.error.endswith("Accepted arguments: repo, limit, since, until, path, branch")


async def test_unknown_tool_answers_an_error_and_is_audited(tools: Any) -> None:
    call = tools.tool_call("github.delete_repo", {"repo": CHECKOUT})
    await tools.send(call)
    result = await tools.result(call)
    assert result.status == ToolStatus.ERROR
    assert "unknown tool 'github.delete_repo'" in result.error
    assert "github.search_issues" in result.error  # the model learns what exists
    [event] = await tools.audit(call.run_id, 1)
    assert event.audit_kind == AuditKind.TOOL_CALL and event.action == "github.delete_repo"
    assert event.outcome == "error" and event.detail["status"] == "error"


async def test_every_call_is_audited_once_with_secrets_redacted(tools: Any) -> None:
    call = tools.tool_call("github.search_issues", {
        "repo": CHECKOUT, "query": "ghp_abcdefghijklmnopqrstuvwxyz0123"})
    await tools.send(call)
    await tools.result(call)
    await tools.send(call, msg_id="redelivered-by-a-restarted-orchestrator")
    [event] = await tools.audit(call.run_id, 2, within=3)
    assert event.action == "github.search_issues" and event.outcome == "ok"
    assert event.detail["arguments"]["query"] == "[REDACTED:github_token]"
    assert event.detail["duration_ms"] > 0 and event.detail["status"] == "no_data"
    assert "ghp_" not in event.model_dump_json()
    assert len(await tools.all_results(call.run_id)) == 1  # answered once, too


async def test_a_call_redelivered_after_its_answer_is_not_run_again(tools: Any,
                                                                    github: Any) -> None:
    call = tools.tool_call("github.recent_commits", {"repo": CHECKOUT, "limit": 2})
    await tools.send(call)
    first = await tools.result(call)
    calls_before = len(github.get("/sandbox/calls"))
    # As after a crash between publishing the result and acking the call.
    await tools.send(call, msg_id="redelivered-after-the-answer")
    await tools.acked(2)  # both deliveries consumed
    assert len(github.get("/sandbox/calls")) == calls_before  # GitHub was not asked again
    [again] = await tools.all_results(call.run_id)
    assert again.data == first.data



async def test_github_4xx_is_an_error_with_githubs_reason(start_tools: Any,
                                                          settings: Any) -> None:
    # Allowed here, but GitHub has no such repository.
    allowed = settings.model_copy(update={"github_repos": [*REPOS, "demo-org/archived-api"]})
    async with start_tools(allowed) as tools:
        result = await tools.call("github.recent_commits", {"repo": "demo-org/archived-api"})
    assert result.status == ToolStatus.ERROR
    assert "GitHub answered 404" in result.error and "Not Found" in result.error


async def test_bad_credentials_are_reported_without_the_token(start_tools: Any,
                                                              settings: Any) -> None:
    token = SecretStr("ghp_WrongTokenWrongToken0123456")
    wrong = settings.model_copy(update={"github_token": token})
    async with start_tools(wrong) as tools:
        result = await tools.call("github.recent_commits", {"repo": CHECKOUT})
        [event] = await tools.audit(result.run_id, 1)
    assert result.status == ToolStatus.ERROR
    assert "GitHub answered 401" in result.error and "Bad credentials" in result.error
    assert "WrongToken" not in result.model_dump_json() + event.model_dump_json()


async def test_upstream_5xx_is_retried_until_it_passes(tools: Any, github: Any) -> None:
    # 3 failures: the in-process retries (1 + 2) absorb them, so one delivery succeeds.
    github.post("/sandbox/faults", {"status": 502, "count": 3, "path": "/repos"})
    result = await tools.call("github.recent_commits", {"repo": CHECKOUT, "limit": 1})
    assert result.status == ToolStatus.SUCCESS, result.error
    commits = [c for c in github.get("/sandbox/calls") if c["path"].endswith("/commits")]
    assert len(commits) == 4


async def test_upstream_5xx_beyond_the_retries_goes_back_to_jetstream(
    tools: Any, github: Any
) -> None:
    # 4 failures exhaust the first delivery's attempts: JetStream redelivers after ~1 s.
    github.post("/sandbox/faults", {"status": 503, "count": 4, "path": "/repos"})
    call = tools.tool_call("github.workflow_runs", {"repo": CHECKOUT, "limit": 1})
    await tools.send(call)
    result = await tools.result(call)
    assert result.status == ToolStatus.SUCCESS, result.error
    runs = [c for c in github.get("/sandbox/calls") if c["path"].endswith("/actions/runs")]
    assert len(runs) == 5
    info = await jetstream(tools.broker).consumer_info("WORK", "tools")
    assert info.delivered.consumer_seq == 2  # delivered twice, acked once


async def test_timeouts_are_temporary(tools: Any, github: Any) -> None:
    # Slower than TOOL_TIMEOUT_S (3 s) once: the retry in the same delivery gets the answer.
    github.post("/sandbox/faults", {"status": 200, "count": 1, "delay_s": 4.0,
                                    "path": "/search"})
    result = await tools.call("github.search_issues", {"repo": CHECKOUT, "query": "502"})
    assert result.status == ToolStatus.SUCCESS, result.error
    assert result.duration_ms > 3000


async def test_temporary_failure_on_the_last_delivery_answers_an_error(
    tools: Any, github: Any
) -> None:
    github.post("/sandbox/faults", {"status": 500, "count": 99, "path": "/repos"})
    call = tools.tool_call("github.recent_commits", {"repo": CHECKOUT})
    result = await tools.app.state.service.handle(call, final_attempt=True)
    assert result.status == ToolStatus.ERROR
    assert "kept failing temporarily" in result.error and "GitHub answered 500" in result.error
    assert (await tools.result(call)).status == ToolStatus.ERROR  # published, the run moves on
