"""Conversations in the orchestrator's exact format (its `conversation.py` is the contract):
a system message, the question with a `<context>` block, and turns of tool calls with
their `<tool_output>` answers. Plain values for the router's tests."""

import json
from typing import Any

from triage_contracts.ids import new_id
from triage_contracts.messages import ChatMessage, ModelCall, RequestedToolCall, ToolSpec
from triage_contracts.tools import TOOLS
from triage_router.providers.rules.plan import error_ratio

REPO = "demo-org/checkout-api"
RUNS = [
    {"id": 9001, "run_number": 57, "name": "CI", "conclusion": "failure",
     "head_sha": "abc1234def5678", "url": "https://github.com/demo-org/checkout-api/actions/runs/9001"},
    {"id": 9000, "run_number": 56, "name": "CI", "conclusion": "success",
     "head_sha": "0ff1ce0ff1ce", "url": "https://github.com/demo-org/checkout-api/actions/runs/9000"},
]
COMMITS = [
    {"sha": "abc1234def5678", "message": "Switch payment client to async retries\n\nbody",
     "author": "dana", "date": "2024-05-01T09:00:00Z",
     "url": "https://github.com/demo-org/checkout-api/commit/abc1234def5678"},
    {"sha": "0ff1ce0ff1ce", "message": "Bump docs", "author": "lee",
     "date": "2024-04-30T10:00:00Z",
     "url": "https://github.com/demo-org/checkout-api/commit/0ff1ce0ff1ce"},
]
ISSUES = [{"number": 42, "title": "Checkout returns 502 for some card payments", "state": "open",
           "labels": ["bug", "incident"], "url": "https://github.com/demo-org/checkout-api/issues/42"}]
JOBS = {"jobs": [{"id": 90012, "name": "test", "conclusion": "failure",
                  "url": "https://github.com/demo-org/checkout-api/actions/runs/9001/job/90012",
                  "steps": [{"name": "Run pytest", "conclusion": "failure"}]}]}
LOG = {"lines": ["collected 214 items", "E   TimeoutError: payment client retry budget exhausted",
                 "2 failed, 212 passed in 41.27s"]}
PULLS = [{"number": 40, "title": "Switch payment client to async retries", "state": "closed",
          "merged": True, "url": "https://github.com/demo-org/checkout-api/pull/40"}]
ALERTS = [{"labels": {"alertname": "HighErrorRate", "service": "checkout-api"},
           "state": "firing", "activeAt": "2024-05-01T09:10:00Z"}]
ERROR_RATIO = {"resultType": "matrix", "result": [{"metric": {"service": "checkout-api"},
               "values": [[1714550400 + 600 * i, "0.002" if i < 6 else "0.07"]
                          for i in range(12)]}]}
INCIDENT_TURNS: list[list[tuple[str, dict[str, Any], Any]]] = [
    [("prometheus.alerts", {"state": "all"}, ALERTS),
     ("github.workflow_runs", {"repo": REPO, "limit": 10}, RUNS),
     ("github.recent_commits", {"repo": REPO, "limit": 10}, COMMITS),
     ("github.list_issues", {"repo": REPO, "state": "open", "limit": 10}, ISSUES),
     ("prometheus.query_range", {"query": error_ratio("checkout-api"), "range": "12h",
                                 "step": "10m"}, ERROR_RATIO)],
    [("github.workflow_jobs", {"repo": REPO, "run_id": 9001}, JOBS),
     ("github.commit_pulls", {"repo": REPO, "sha": "abc1234def5678"}, PULLS)],
    [("github.job_log", {"repo": REPO, "job_id": 90012, "tail_lines": 40}, LOG)],
]


def opening(question: str, repos: list[str] | None = None) -> list[ChatMessage]:
    repos = repos or [REPO, "demo-org/payments-api"]
    context = {"repos": repos, "default_repo": REPO,
               "services": {r: r.split("/")[-1] for r in repos}, "now": "2024-05-01T12:00:00+00:00"}
    return [ChatMessage(role="system", content="You are triage. Rules..."),
            ChatMessage(role="user", content=f"<question>{question}</question>\n"
                                             f"<context>{json.dumps(context)}</context>")]


def turns(plan: list[list[tuple[str, dict[str, Any], Any]]]) -> list[ChatMessage]:
    messages: list[ChatMessage] = []
    for t, calls in enumerate(plan, start=1):
        requested = [RequestedToolCall(id=f"c{t}{i}", name=tool, arguments=json.dumps(args))
                     for i, (tool, args, _) in enumerate(calls)]
        messages.append(ChatMessage(role="assistant", tool_calls=requested))
        for request, (tool, _, data) in zip(requested, calls, strict=True):
            body = json.dumps({"status": "success", "data": data}).replace("</", "<\\/")
            messages.append(ChatMessage(role="tool", tool_call_id=request.id, content=(
                f'<tool_output tool="{tool}" call="investigate-t{t}-c0" trust="untrusted">\n'
                f"{body}\n</tool_output>")))
    return messages


# Few tools by default: their schemas count towards the worst-case cost the budget tests
# price, and a real skill offers a handful too.
DEFAULT_TOOLS = ["github.workflow_runs", "github.comment_issue"]


def tool_specs(names: list[str] | None = None) -> list[ToolSpec]:
    return [TOOLS[name].spec() for name in (names or DEFAULT_TOOLS)]


def model_call(question: str = "why is checkout-api failing?", route: str = "agent",
               plan: list[list[tuple[str, dict[str, Any], Any]]] | None = None,
               final: bool = False, tools: list[str] | None = None, team: str = "T1",
               **extra: Any) -> ModelCall:
    messages = opening(question) + turns(INCIDENT_TURNS if plan is None else plan)
    return ModelCall(team_id=team, run_id=new_id("run"), step_id="investigate-t4", route=route,
                     messages=messages, tools=tool_specs(tools),
                     tool_choice="none" if final else "auto", **extra)
