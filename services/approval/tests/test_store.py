"""The store against real SQLite: leaving 'pending' happens once (the conditional UPDATE
is what makes a double click or a race with the expiry sweep decide once), and timestamps
read back exactly as signed."""

from datetime import timedelta
from pathlib import Path

from triage_approval.db import create_schema, make_engine
from triage_approval.signer import Seal
from triage_approval.store import ApprovalStore, Outcome
from triage_contracts.ids import utcnow

from .conftest import approval_request


def store_in(tmp_path: Path) -> ApprovalStore:
    engine = make_engine(f"sqlite:///{tmp_path}/nested/approval.db")
    create_schema(engine)  # also creates the missing folder
    return ApprovalStore(engine)


def outcome(user: str, seconds: float = 0) -> Outcome:
    at = utcnow() + timedelta(seconds=seconds)
    return Outcome("approved", user, "", at, Seal("k1", at + timedelta(hours=1), "sig-" + user))


async def test_a_pending_row_is_settled_once(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    req = approval_request()
    assert await store.insert(req) is True
    assert await store.insert(req) is False

    first = outcome("U_ALICE")
    assert await store.settle(req.approval_id, first, overdue=False) is True
    assert await store.settle(req.approval_id, outcome("U_BOB"), overdue=False) is False
    row = await store.get(req.approval_id)
    assert row is not None and row.decided_by == "U_ALICE" and row.signature == "sig-U_ALICE"
    assert row.decided_at == first.decided_at  # tz-aware, microseconds kept: signature holds
    assert (row.grant_kid, row.grant_expires_at) == ("k1", first.seal.expires_at)
    assert [r.approval_id for r in await store.unpublished()] == [req.approval_id]
    await store.mark_published(req.approval_id, utcnow())
    assert await store.unpublished() == []


async def test_expiry_and_humans_never_both_win(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    req = approval_request(expires_in=60)
    await store.insert(req)
    # Before the deadline only a human may settle it; after it only the sweep.
    assert await store.settle(req.approval_id, outcome("system:expiry"), overdue=True) is False
    late = outcome("U_ALICE", seconds=120)
    assert await store.settle(req.approval_id, late, overdue=False) is False
    assert [r.approval_id for r in await store.overdue(late.decided_at)] == [req.approval_id]
    expired = Outcome("expired", "system:expiry", "", late.decided_at, late.seal)
    assert await store.settle(req.approval_id, expired, overdue=True) is True
    assert await store.overdue(late.decided_at) == []
