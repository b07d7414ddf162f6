"""Builders shared by the orchestrator tests: requests, results, decisions and the shipped
workflow and skills. Plain values; no fakes of any client."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from triage_contracts.grants import GrantClaims
from triage_contracts.ids import stable_id
from triage_contracts.messages import (
    ApprovalDecision,
    Decision,
    ModelResult,
    NotifyResult,
    ProposedAction,
    RequestedToolCall,
    RequestKind,
    ToolResult,
    ToolStatus,
    TriageRequest,
    Usage,
)
from triage_contracts.testing.grant_keys import GrantKeyPair
from triage_orchestrator.commands import PublishModelCall, PublishToolCall
from triage_orchestrator.settings import PACKAGE_DIR
from triage_orchestrator.skills import Skill, load_skills
from triage_orchestrator.spec import WorkflowSpec, load_workflow
from triage_orchestrator.state import RunConfig, RunState

TEAM = "T1"
REPO = "demo-org/checkout-api"
# The approval service's key pair: the orchestrator under test gets the public half only.
APPROVAL_KEY = GrantKeyPair.generate("approval-test")
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
USAGE = Usage(prompt_tokens=10, completion_tokens=5, cost_usd=0.0012)


def waiting_model(state: RunState) -> PublishModelCall:
    """The model call the run waits on (exactly one at a time)."""
    [call] = [p.command for p in state.pending.values() if isinstance(p.command, PublishModelCall)]
    return call


def waiting_tools(state: RunState) -> list[PublishToolCall]:
    return [p.command for p in state.pending.values() if isinstance(p.command, PublishToolCall)]


def call(name: str, arguments: dict[str, Any] | str, call_id: str = "") -> RequestedToolCall:
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return RequestedToolCall(id=call_id or f"call_{name}", name=name, arguments=raw)


def model_result(state: RunState, content: str = "", calls: list[RequestedToolCall] | None = None,
                 ok: bool = True, error: str | None = None, error_code: str | None = None,
                 usage: Usage = USAGE, provider: str = "offline") -> ModelResult:
    """The answer to the model call `state` waits on."""
    waiting = waiting_model(state).message
    return ModelResult(team_id=TEAM, run_id=state.run_id, step_id=waiting.step_id,
                       route=waiting.route, ok=ok, content=content if ok else "",
                       tool_calls=calls or [], provider=provider, model="offline-rules-1",
                       error=error, error_code=error_code, usage=usage if ok else Usage())


def notify_result(run_id: str, step_id: str, ts: str = "1700000001.000200",
                  ok: bool = True) -> NotifyResult:
    return NotifyResult(team_id=TEAM, run_id=run_id, step_id=step_id, ok=ok, channel_id="C1",
                        ts=ts if ok else None, error=None if ok else "channel_not_found")


def decision(run_id: str, approval_id: str, digest: str, verdict: Decision = Decision.APPROVE,
             approver: str = "U_APPROVER", reason: str = "", key: GrantKeyPair = APPROVAL_KEY,
             at: datetime | None = None, expires_at: datetime | None = None
             ) -> ApprovalDecision:
    """A signed decision; its grant stays valid for an hour from now unless `expires_at`."""
    at = at or NOW + timedelta(minutes=5)
    expires_at = expires_at or datetime.now(UTC) + timedelta(hours=1)
    claims = GrantClaims(kid=key.kid, team_id=TEAM, approval_id=approval_id,
                         action_digest=digest, decision=verdict, approver_id=approver,
                         decided_at=at, expires_at=expires_at)
    return ApprovalDecision(team_id=TEAM, run_id=run_id, approval_id=approval_id,
                            decision=verdict, approver_id=approver, reason=reason,
                            action_digest=digest, decided_at=at, signature=key.sign(claims),
                            kid=key.kid, expires_at=expires_at)
