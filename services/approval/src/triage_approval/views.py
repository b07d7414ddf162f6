"""What the API returns and the pages show: plain views of a stored approval, so the ORM
row never leaks into responses or templates."""

import html
import json
from datetime import datetime
from typing import Any

from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field

from .db import ApprovalRow


class ApprovalView(BaseModel):
    approval_id: str
    team_id: str
    run_id: str
    requester_id: str
    action: dict[str, Any]
    action_digest: str
    evidence: list[dict[str, Any]]
    draft_answer: str
    question: str
    channel_id: str
    thread_ts: str | None
    status: str
    decided_by: str | None
    reason: str
    decided_at: datetime | None
    expires_at: datetime
    created_at: datetime
    url: str


class ApprovalList(BaseModel):
    approvals: list[ApprovalView]


class DecisionBody(BaseModel):
    # Strict: a decision approves the action exactly as it was shown. Anything else in the
    # body (edited arguments, another digest) is refused with the reason, never dropped
    # silently: an approver who edited must learn that the edit was not applied.
    model_config = ConfigDict(extra="forbid")

    decision: str = Field(description="approve | reject", max_length=32)
    reason: str = Field("", max_length=4000)
    # Required from, and only honoured from, a trusted service presenting SERVICE_TOKEN
    # (Slack buttons): the clicking user and the team of the click.
    approver_id: str | None = Field(None, max_length=128)
    team_id: str | None = Field(None, max_length=64,
                                description="The approval's team (a person: optional)")


class SessionView(BaseModel):
    """Who the caller is, what they may see, and the CSRF token their POSTs carry."""

    user_id: str | None
    via: str | None
    teams: list[str] = Field(description="Team ids, or ['*'] for every team")
    csrf_token: str


def view(row: ApprovalRow, public_url: str) -> ApprovalView:
    return ApprovalView(
        approval_id=row.approval_id, team_id=row.team_id, run_id=row.run_id,
        requester_id=row.requester_id, action=row.action, action_digest=row.action_digest,
        evidence=row.evidence, draft_answer=row.draft_answer, question=row.question,
        channel_id=row.channel_id, thread_ts=row.thread_ts, status=row.status,
        decided_by=row.decided_by, reason=row.reason, decided_at=row.decided_at,
        expires_at=row.expires_at, created_at=row.created_at,
        url=f"{public_url.rstrip('/')}/approvals/{row.approval_id}",
    )


def effect(action: dict[str, Any]) -> dict[str, Any]:
    """The exact effect of an action, shaped for the page: known writes field by field,
    anything else as its full arguments."""
    args = action.get("arguments") or {}
    tool = action.get("tool", "")
    if tool == "github.comment_issue":
        return {"kind": "comment", "tool": tool, "repo": args.get("repo"),
                "issue_number": args.get("issue_number"), "body": args.get("body", ""),
                "arguments_json": _pretty(args)}
    return {"kind": "generic", "tool": tool, "arguments_json": _pretty(args)}


def safe_link(url: Any) -> str | None:
    """Only http(s) links become clickable: escaping cannot stop a `javascript:` href."""
    if isinstance(url, str) and url.lower().startswith(("https://", "http://")):
        return url
    return None


def text_content(value: Any) -> Markup:
    """Escape for element content only (&, <, >): quotes stay as typed, so the comment body
    on the page reads byte for byte like the one that will be posted. Never in attributes."""
    return Markup(html.escape(str(value), quote=False))


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
