"""The read side: what auditors and the API ask of the chain. Rows leave as plain dicts
holding exactly the hashed fields plus both hashes, so an export is verifiable on its own."""

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from .chain import HASHED_FIELDS, iso
from .db import temporary_on_outage
from .models import AuditHead, AuditRow

MAX_LIMIT = 1000


def row_fields(row: AuditRow) -> dict[str, Any]:
    """The hashed fields of a stored row, as read back (the input of the chain hash)."""
    return {name: getattr(row, name) for name in HASHED_FIELDS}


def row_to_dict(row: AuditRow) -> dict[str, Any]:
    data = row_fields(row)
    data["created_at"] = iso(row.created_at)
    data["recorded_at"] = iso(row.recorded_at)
    data["prev_hash"] = row.prev_hash
    data["hash"] = row.hash
    return data


def teams(engine: Engine) -> list[dict[str, Any]]:
    with temporary_on_outage("listing teams"), Session(engine) as session:
        heads = session.scalars(select(AuditHead).order_by(AuditHead.team_id))
        return [{"team_id": h.team_id, "seq": h.seq, "head": h.hash} for h in heads]


def events(
    engine: Engine, team_id: str, run_id: str | None = None, after_seq: int = 0,
    limit: int = 100, kind: str | None = None,
) -> list[dict[str, Any]]:
    stmt = (select(AuditRow).where(AuditRow.team_id == team_id, AuditRow.seq > after_seq)
            .order_by(AuditRow.seq).limit(max(1, min(limit, MAX_LIMIT))))
    if run_id is not None:
        stmt = stmt.where(AuditRow.run_id == run_id)
    if kind is not None:  # e.g. every rating of the team's answers (feedback)
        stmt = stmt.where(AuditRow.kind == kind)
    with temporary_on_outage("reading events"), Session(engine) as session:
        return [row_to_dict(row) for row in session.scalars(stmt)]


def iter_events(engine: Engine, team_id: str, run_id: str | None = None,
                batch: int = 500) -> Iterator[dict[str, Any]]:
    """Every event of a team (or one run) in chain order, read in pages (constant memory)."""
    after = 0
    while page := events(engine, team_id, run_id, after_seq=after, limit=batch):
        yield from page
        after = page[-1]["seq"]


def run_timeline(engine: Engine, team_id: str, run_id: str) -> dict[str, Any] | None:
    timeline = list(iter_events(engine, team_id, run_id))
    if not timeline:
        return None
    return {
        "team_id": team_id, "run_id": run_id, "events": timeline,
        "total_cost_usd": sum(e["cost_usd"] for e in timeline),
        "started_at": timeline[0]["created_at"], "ended_at": timeline[-1]["created_at"],
        "services": sorted({e["service"] for e in timeline}),
    }
