"""Doing what the rules allow: record requests, decide once, sign, publish, audit, expire.

The database is the source of truth; JetStream gets the signed ApprovalDecision afterwards.
If publishing fails after the row changed, the row keeps `published_at` NULL and the sweep
re-publishes it (same Nats-Msg-Id, so a late duplicate is dropped by the stream).
"""

import structlog
from faststream.nats import NatsBroker
from prometheus_client import CollectorRegistry, Counter
from triage_contracts import subjects
from triage_contracts.approvals import action_digest
from triage_contracts.audit import AuditEmitter
from triage_contracts.bus import publish
from triage_contracts.errors import ErrorCode, PermanentError, TriageError
from triage_contracts.ids import utcnow
from triage_contracts.logs import get_logger
from triage_contracts.messages import ApprovalDecision, ApprovalRequest, AuditKind, Decision

from . import rules
from .db import ApprovalRow
from .directory import Directory
from .principal import EVERY_TEAM, Scope
from .settings import Settings
from .store import ApprovalStore, Outcome

SERVICE = "approval"
EXPIRY_ACTOR = "system:expiry"
log = get_logger("triage.approval")


class Approvals:
    def __init__(self, settings: Settings, store: ApprovalStore, broker: NatsBroker,
                 metrics: CollectorRegistry, directory: Directory) -> None:
        self.settings = settings
        self.store = store
        self.broker = broker
        self.directory = directory
        self.signer = settings.grant_signer()
        self.audit = AuditEmitter(broker, SERVICE)
        self.decisions = Counter("triage_approval_decisions", "Decisions recorded",
                                 ["decision"], registry=metrics)

    async def record_request(self, req: ApprovalRequest) -> None:
        """Store a pending approval once, however often the request is delivered."""
        expected = action_digest(req.action.tool, req.action.arguments, req.run_id, req.team_id)
        if expected != req.action_digest:
            # The page shows `action`; the grant binds `action_digest`: they must agree.
            raise PermanentError(f"action_digest does not match the action of approval "
                                 f"{req.approval_id}", ErrorCode.APPROVAL_INVALID)
        created = await self.store.insert(req)
        with structlog.contextvars.bound_contextvars(run_id=req.run_id, team_id=req.team_id):
            log.info("approval requested", approval_id=req.approval_id, new=created,
                     tool=req.action.tool)
        await self.audit.emit(
            req.team_id, req.run_id, AuditKind.APPROVAL, "requested", actor=req.requester_id,
            detail={"approval_id": req.approval_id, "tool": req.action.tool,
                    "action_digest": req.action_digest,
                    "expires_at": req.expires_at.isoformat()},
            dedupe_key=f"requested:{req.approval_id}",
        )

    async def decide(self, approval_id: str, decider: str, decision: str, reason: str = "",
                     *, via: str, scope: Scope) -> ApprovalRow:
        """Record one human decision (all surfaces call this). Raises rules.DecisionRefused;
        an approval outside the caller's `scope` is NotFound, as if it did not exist."""
        row = await self.visible(approval_id, scope)
        approvers = await self.directory.approvers(row.team_id)
        now = utcnow()
        chosen = rules.check(_facts(row), decider, decision, reason, approvers, now)
        outcome = self._outcome(row, chosen, decider, reason.strip())
        if not await self.store.settle(approval_id, outcome, overdue=False):
            # Someone else (or the expiry sweep) got there first: explain with fresh facts.
            rules.check_open(_facts(await self._load(approval_id)), utcnow())
            raise rules.AlreadyDecided(f"approval {approval_id} was decided meanwhile")
        settled = await self._load(approval_id)
        self.decisions.labels(chosen.value).inc()
        await self._deliver_or_defer(settled, via)
        return settled

    async def sweep(self) -> None:
        """Expire overdue pending approvals, then re-publish decided-but-unpublished ones."""
        for row in await self.store.overdue(utcnow()):
            outcome = self._outcome(row, Decision.EXPIRE, EXPIRY_ACTOR, "not decided in time")
            if await self.store.settle(row.approval_id, outcome, overdue=True):
                self.decisions.labels(Decision.EXPIRE.value).inc()
        for row in await self.store.unpublished():
            await self._deliver(row, "reconciler")

    def _outcome(self, row: ApprovalRow, decision: Decision, actor: str, reason: str) -> Outcome:
        at = utcnow()
        seal = self.signer.seal(row.team_id, row.approval_id, row.action_digest, decision,
                                actor, at)
        return Outcome(rules.STATUS_OF[decision], actor, reason, at, seal)

    async def visible(self, approval_id: str, scope: Scope) -> ApprovalRow:
        """The approval if it exists within `scope`; NotFound alike when it does not exist
        and when it belongs to another team (existence is not revealed)."""
        row = await self.store.get(approval_id)
        if row is None or not scope.allows(row.team_id):
            raise rules.NotFound(f"no approval {approval_id}")
        return row

    async def _load(self, approval_id: str) -> ApprovalRow:
        return await self.visible(approval_id, EVERY_TEAM)

    async def _deliver_or_defer(self, row: ApprovalRow, via: str) -> None:
        try:
            await self._deliver(row, via)
        except TriageError as exc:
            # The decision is recorded; the sweep publishes it once NATS answers again.
            log.warning("decision recorded, publishing deferred", approval_id=row.approval_id,
                        error=str(exc))

    async def _deliver(self, row: ApprovalRow, via: str) -> None:
        """Publish the signed decision and its audit event, then mark the row published."""
        message = decision_message(row)
        await publish(self.broker, message, subjects.approval_decision(row.team_id),
                      msg_id=f"decision:{row.approval_id}")
        await self.audit.emit(
            row.team_id, row.run_id, AuditKind.DECISION, message.decision.value,
            actor=message.approver_id,
            outcome="ok" if message.decision is Decision.APPROVE else message.decision.value,
            detail={"approval_id": row.approval_id, "tool": row.action.get("tool"),
                    "action_digest": row.action_digest, "reason": row.reason, "via": via},
            dedupe_key=f"decision:{row.approval_id}",
        )
        await self.store.mark_published(row.approval_id, utcnow())
        with structlog.contextvars.bound_contextvars(run_id=row.run_id, team_id=row.team_id):
            log.info("decision published", approval_id=row.approval_id,
                     decision=message.decision.value, approver=message.approver_id, via=via)


def decision_message(row: ApprovalRow) -> ApprovalDecision:
    """The signed message of a decided row; identical however often it is rebuilt."""
    if row.decided_at is None or row.decided_by is None or row.signature is None:
        raise ValueError(f"approval {row.approval_id} is not decided")
    return ApprovalDecision(
        message_id=f"decision-{row.approval_id}", team_id=row.team_id, run_id=row.run_id,
        approval_id=row.approval_id, decision=rules.DECISION_OF[row.status],
        approver_id=row.decided_by, reason=row.reason, action_digest=row.action_digest,
        decided_at=row.decided_at, signature=row.signature, kid=row.grant_kid or "",
        expires_at=row.grant_expires_at,
    )


def _facts(row: ApprovalRow) -> rules.Pending:
    return rules.Pending(row.requester_id, row.status, row.decided_by, row.decided_at,
                         row.expires_at)
