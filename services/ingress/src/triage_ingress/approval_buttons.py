"""The Approve / Reject buttons of the approval prompt, decided by the approval service.

A button carries only the approval id; who clicked, and in which workspace, come from
Slack's signed payload and are passed on as the approver and the team (the approval
service trusts them because the ingress holds SERVICE_TOKEN, and answers only within that
team). Every rule (who approves, four-eyes, expiry, once only) stays in the
approval service, so Slack and the web UI can never disagree: the ingress only tells the
person who clicked why a click was not recorded. Reject asks for a reason in a modal.
"""

from dataclasses import dataclass
from typing import Any

from triage_contracts.audit import AuditEmitter
from triage_contracts.logs import get_logger
from triage_contracts.messages import AuditKind
from triage_contracts.slack_actions import (
    REASON_BLOCK,
    REASON_INPUT,
    CallbackId,
    RejectModalMetadata,
)

from .clients.approval import ApprovalApi, ApprovalUnavailable, Decided, Refused
from .clients.slack import SlackRejected
from .clients.slack_interactive import SlackInteractive

log = get_logger("triage.ingress.approvals")

NOT_CONFIGURED = ("Approvals from Slack are not configured on this workspace's ingress "
                  "(APPROVAL_URL): please use the approval web UI.")
UNAVAILABLE = "The approval service is unavailable right now: nothing was recorded, try again."
MISCONFIGURED = ("The approval service refused this Slack integration's credentials "
                 "(SERVICE_TOKEN): nothing was recorded, please use the approval web UI.")
VERB = {"approve": "approval", "reject": "rejection"}


@dataclass(frozen=True)
class Click:
    """One person's Approve/Reject (a button click, or the submitted reject modal)."""

    team_id: str
    user_id: str
    approval_id: str
    response_url: str | None = None
    trigger_id: str = ""
    # The run of the clicked message (from its metadata) when Slack sent it along.
    run_hint: str | None = None
    enterprise_id: str | None = None  # Enterprise Grid: finds the org's installation


def default_reason(user_id: str) -> str:
    return f"Rejected from Slack by <@{user_id}>"


def refusal_text(decision: str, refused: Refused) -> str:
    return f"Your {VERB.get(decision, decision)} was not recorded: {refused.reason}."


def reject_modal(click: Click) -> dict[str, Any]:
    """The modal asking why; its metadata brings the click back on submission."""
    meta = RejectModalMetadata(approval_id=click.approval_id, response_url=click.response_url,
                               run_id=click.run_hint)
    return {
        "type": "modal", "callback_id": CallbackId.REJECT_MODAL,
        "private_metadata": meta.model_dump_json(),
        "title": {"type": "plain_text", "text": "Reject the action"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": (
                f"Rejecting approval `{click.approval_id}`: nothing will be written. "
                "Your reason is shown in the thread and kept in the audit log.")}},
            {"type": "input", "block_id": REASON_BLOCK,
             "label": {"type": "plain_text", "text": "Reason"},
             "element": {"type": "plain_text_input", "action_id": REASON_INPUT,
                         "multiline": True}},
        ],
    }


class ApprovalButtons:
    def __init__(self, api: ApprovalApi | None, slack: SlackInteractive,
                 audit: AuditEmitter) -> None:
        self.api = api
        self.slack = slack
        self.audit = audit

    async def approve(self, click: Click) -> None:
        problem = await self.decide(click, "approve", "")
        if problem is not None:
            await self._tell(click, problem)

    async def start_reject(self, click: Click) -> None:
        """Ask for a reason in a modal; where no modal can open, reject with a default."""
        if self.api is not None:
            try:
                await self.slack.open_view(click.trigger_id, reject_modal(click),
                                           click.team_id, click.enterprise_id)
                return
            except SlackRejected as exc:
                log.info("reject modal not opened, using the default reason", error=exc.error)
        problem = await self.decide(click, "reject", default_reason(click.user_id))
        if problem is not None:
            await self._tell(click, problem)

    async def decide(self, click: Click, decision: str, reason: str) -> str | None:
        """None once recorded; otherwise what to tell the person who clicked."""
        if self.api is None:
            return NOT_CONFIGURED
        try:
            outcome = await self.api.decide(click.approval_id, decision, reason, click.user_id,
                                            click.team_id)
        except ApprovalUnavailable as exc:
            log.warning("approval service unavailable for a Slack click", error=str(exc),
                        approval_id=click.approval_id)
            return UNAVAILABLE
        if isinstance(outcome, Decided):
            await self._record(click, decision, outcome.run_id, "ok", {"status": outcome.status})
            log.info("decision from Slack recorded", approval_id=click.approval_id,
                     decision=decision, user=click.user_id)
            return None
        await self._record(click, decision, click.run_hint or await self._run_of(click),
                           "refused", {"status": outcome.status, "reason": outcome.reason})
        if outcome.status == 401:
            log.error("approval service refused SERVICE_TOKEN", approval_id=click.approval_id)
            return MISCONFIGURED
        log.info("decision from Slack refused", approval_id=click.approval_id,
                 decision=decision, user=click.user_id, status=outcome.status,
                 reason=outcome.reason)
        return refusal_text(decision, outcome)

    async def _run_of(self, click: Click) -> str | None:
        assert self.api is not None
        try:
            return await self.api.run_of(click.approval_id, click.team_id)
        except ApprovalUnavailable:
            return None  # only the audit context is lost; the refusal was already answered

    async def _record(self, click: Click, decision: str, run_id: str | None, outcome: str,
                      detail: dict[str, Any]) -> None:
        if run_id is None:
            log.warning("Slack decision not audited: its run is unknown",
                        approval_id=click.approval_id, outcome=outcome)
            return
        await self.audit.emit(
            click.team_id, run_id, AuditKind.APPROVAL, f"slack.{decision}", actor=click.user_id,
            outcome=outcome, detail={"approval_id": click.approval_id, "via": "slack", **detail},
        )

    async def _tell(self, click: Click, text: str) -> None:
        if not click.response_url:
            log.warning("cannot tell the user why: no response_url", approval_id=click.approval_id)
            return
        await self.slack.tell(click.response_url, text)
