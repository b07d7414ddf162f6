"""Builders shared by the orchestrator tests: requests, results, decisions and the shipped
workflow and skills. Plain values; no fakes of any client."""

from datetime import UTC, datetime, timedelta
from typing import Any

from triage_contracts.approvals import sign_decision
from triage_contracts.ids import stable_id
from triage_contracts.messages import (
    ApprovalDecision,
    Decision,
    ModelResult,
    NotifyResult,
    ProposedAction,
    RequestKind,
    ToolResult,
    ToolStatus,
    TriageRequest,
    Usage,
)
from triage_orchestrator.settings import PACKAGE_DIR
from triage_orchestrator.spec import Skill, WorkflowSpec, load_skills, load_workflow
from triage_orchestrator.state import RunConfig

TEAM = "T1"
REPO = "demo-org/checkout-api"
SIGNING_KEY = "dev-only-test-signing-key"
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def workflow() -> WorkflowSpec:
    return load_workflow(PACKAGE_DIR / "workflow.yaml")


def skills() -> list[Skill]:
    return load_skills(PACKAGE_DIR / "skills")


def config(**kw: Any) -> RunConfig:
    base: dict[str, Any] = {"repos": [REPO, "demo-org/payments-api"],
                            "approval_public_url": "http://approvals.test"}
    return RunConfig(**{**base, **kw})


def request(text: str = "why is checkout-api failing?", event_id: str = "Ev1",
            thread_ts: str | None = "1700000000.000100", channel: str = "C1") -> TriageRequest:
    return TriageRequest(
        team_id=TEAM, run_id=stable_id("run-", TEAM, event_id), request_kind=RequestKind.MENTION,
        event_id=event_id, channel_id=channel, user_id="U_REQ", text=text, thread_ts=thread_ts,
    )


CI_RUNS = [
    {"id": 9, "name": "CI", "head_sha": "abc1234def", "head_branch": "main", "status": "completed",
     "conclusion": "failure", "url": "https://gh.test/runs/9", "created_at": "2026-01-05T10:00:00Z",
     "run_number": 57},
    {"id": 8, "name": "CI", "head_sha": "0001111aaa", "head_branch": "main", "status": "completed",
     "conclusion": "success", "url": "https://gh.test/runs/8", "created_at": "2026-01-05T09:00:00Z",
     "run_number": 56},
]
COMMITS = [
    {"sha": "abc1234def", "message": "Switch payment client to async retries\n\nbody",
     "author": "dana", "date": "2026-01-05T09:55:00Z", "url": "https://gh.test/c/abc1234"},
]
ISSUES = [
    {"number": 42, "title": "Checkout returns 502 for some card payments", "state": "open",
     "url": "https://gh.test/issues/42", "is_pull_request": False, "labels": ["bug"],
     "updated_at": "2026-01-05T10:30:00Z", "author": "sam"},
]
METRIC = {"resultType": "vector",
          "result": [{"metric": {"service": "checkout-api"}, "value": [1767614400, "0.071"]}]}
TOOL_DATA: dict[str, Any] = {
    "github.workflow_runs": CI_RUNS, "github.recent_commits": COMMITS,
    "github.search_issues": ISSUES, "prometheus.query": METRIC,
}


def tool_result(run_id: str, step_id: str, tool: str, data: Any = None,
                status: ToolStatus = ToolStatus.SUCCESS, error: str | None = None) -> ToolResult:
    return ToolResult(team_id=TEAM, run_id=run_id, step_id=step_id, tool=tool, status=status,
                      data=TOOL_DATA.get(tool) if data is None else data, error=error)


COMMENT = ProposedAction(
    tool="github.comment_issue",
    arguments={"repo": REPO, "issue_number": 42, "body": "CI #57 fails since abc1234."},
    summary="Comment on demo-org/checkout-api#42",
)


def model_result(run_id: str, content: str = "*Triage:* CI broke on `abc1234`.",
                 actions: list[ProposedAction] | None = None, ok: bool = True,
                 error: str | None = None) -> ModelResult:
    return ModelResult(team_id=TEAM, run_id=run_id, step_id="draft", route="draft", ok=ok,
                       content=content if ok else "", proposed_actions=actions or [],
                       provider="offline", model="offline-extractive-1", error=error,
                       usage=Usage(prompt_tokens=10, completion_tokens=5, cost_usd=0.0012))


def notify_result(run_id: str, step_id: str, ts: str = "1700000001.000200",
                  ok: bool = True) -> NotifyResult:
    return NotifyResult(team_id=TEAM, run_id=run_id, step_id=step_id, ok=ok, channel_id="C1",
                        ts=ts if ok else None, error=None if ok else "channel_not_found")


def decision(run_id: str, approval_id: str, digest: str, verdict: Decision = Decision.APPROVE,
             approver: str = "U_APPROVER", reason: str = "", key: str = SIGNING_KEY,
             at: datetime | None = None) -> ApprovalDecision:
    at = at or NOW + timedelta(minutes=5)
    signature = sign_decision(key, approval_id, digest, verdict.value, approver, at)
    return ApprovalDecision(team_id=TEAM, run_id=run_id, approval_id=approval_id,
                            decision=verdict, approver_id=approver, reason=reason,
                            action_digest=digest, decided_at=at, signature=signature)
