"""Reading and writing approvals. Every query runs in a worker thread (`_threaded`) so a slow
database never stalls the broker's event loop.

Leaving 'pending' is always one conditional UPDATE ... WHERE status='pending': a double
click, two approvers at once or the expiry sweep racing a human decide exactly once.
Listings take the caller's team scope and filter in SQL.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Concatenate

from sqlalchemy import Engine, Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker
from triage_contracts.messages import ApprovalRequest

from .db import ApprovalRow
from .principal import Scope
from .signer import Seal


@dataclass(frozen=True)
class Outcome:
    """What a decision writes onto a pending row."""

    status: str
    decided_by: str
    reason: str
    decided_at: datetime
    seal: Seal


def _threaded[**P, R](
    fn: Callable[Concatenate["ApprovalStore", P], R],
) -> Callable[Concatenate["ApprovalStore", P], Awaitable[R]]:
    async def wrapper(self: "ApprovalStore", /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(fn, self, *args, **kwargs)

    return wrapper


class ApprovalStore:
    def __init__(self, engine: Engine) -> None:
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    @_threaded
    def insert(self, req: ApprovalRequest) -> bool:
        """Store a new pending approval; False when `approval_id` is already known."""
        with self.sessions() as session:
            if session.get(ApprovalRow, req.approval_id) is not None:
                return False
            session.add(_row_from_request(req))
            try:
                session.commit()
            except IntegrityError:  # a concurrent redelivery inserted it first
                return False
        return True

    @_threaded
    def get(self, approval_id: str) -> ApprovalRow | None:
        with self.sessions() as session:
            return session.get(ApprovalRow, approval_id)

    @_threaded
    def by_status(self, status: str | None, scope: Scope, limit: int = 100
                  ) -> Sequence[ApprovalRow]:
        query = _within(select(ApprovalRow), scope)
        if status == "pending":
            query = query.where(ApprovalRow.status == "pending").order_by(ApprovalRow.created_at)
        elif status:
            query = query.where(ApprovalRow.status == status)
            query = query.order_by(ApprovalRow.decided_at.desc())
        else:
            query = query.order_by(ApprovalRow.created_at.desc())
        with self.sessions() as session:
            return session.scalars(query.limit(limit)).all()

    @_threaded
    def recent_decisions(self, scope: Scope, limit: int = 20) -> Sequence[ApprovalRow]:
        query = (_within(select(ApprovalRow), scope).where(ApprovalRow.status != "pending")
                 .order_by(ApprovalRow.decided_at.desc()).limit(limit))
        with self.sessions() as session:
            return session.scalars(query).all()

    @_threaded
    def settle(self, approval_id: str, outcome: Outcome, *, overdue: bool) -> bool:
        """Move a pending row to `outcome`; True only for the one caller that did it.
        A human decision needs the row unexpired; the expiry sweep needs it overdue."""
        in_time = (ApprovalRow.expires_at <= outcome.decided_at if overdue
                   else ApprovalRow.expires_at > outcome.decided_at)
        stmt = (
            update(ApprovalRow)
            .where(ApprovalRow.approval_id == approval_id, ApprovalRow.status == "pending",
                   in_time)
            .values(status=outcome.status, decided_by=outcome.decided_by, reason=outcome.reason,
                    decided_at=outcome.decided_at, signature=outcome.seal.signature,
                    grant_kid=outcome.seal.kid, grant_expires_at=outcome.seal.expires_at)
            .execution_options(synchronize_session=False)
        )
        with self.sessions() as session:
            changed = session.execute(stmt).rowcount  # type: ignore[attr-defined]
            session.commit()
        return bool(changed == 1)

    @_threaded
    def overdue(self, now: datetime, limit: int = 100) -> Sequence[ApprovalRow]:
        query = (select(ApprovalRow)
                 .where(ApprovalRow.status == "pending", ApprovalRow.expires_at <= now)
                 .order_by(ApprovalRow.expires_at).limit(limit))
        with self.sessions() as session:
            return session.scalars(query).all()

    @_threaded
    def unpublished(self, limit: int = 100) -> Sequence[ApprovalRow]:
        query = (select(ApprovalRow)
                 .where(ApprovalRow.status != "pending", ApprovalRow.published_at.is_(None))
                 .order_by(ApprovalRow.decided_at).limit(limit))
        with self.sessions() as session:
            return session.scalars(query).all()

    @_threaded
    def mark_published(self, approval_id: str, at: datetime) -> None:
        stmt = (update(ApprovalRow).where(ApprovalRow.approval_id == approval_id)
                .values(published_at=at).execution_options(synchronize_session=False))
        with self.sessions() as session:
            session.execute(stmt)
            session.commit()


def _within[Q: Select[Any]](query: Q, scope: Scope) -> Q:
    """Only rows of the teams in `scope` (listing never shows another team's approvals)."""
    if scope.every:
        return query
    return query.where(ApprovalRow.team_id.in_(sorted(scope.teams)))


def _row_from_request(req: ApprovalRequest) -> ApprovalRow:
    return ApprovalRow(
        approval_id=req.approval_id, team_id=req.team_id, run_id=req.run_id,
        requester_id=req.requester_id, action=req.action.model_dump(mode="json"),
        action_digest=req.action_digest,
        evidence=[e.model_dump(mode="json") for e in req.evidence],
        draft_answer=req.draft_answer, question=req.question, channel_id=req.channel_id,
        thread_ts=req.thread_ts, status="pending", reason="",
        expires_at=req.expires_at, created_at=req.created_at,
    )

