"""Integrity verification: recompute each team's chain and say where it first breaks.

Detects a changed row (its hash no longer matches its fields), a deleted row (a gap in seq),
reordered rows (a row no longer links to its predecessor), and a truncated or extended tail
(the head row disagrees with the last row). Reads in seq order with bounded memory.
"""

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from .chain import GENESIS, link_hash
from .db import temporary_on_outage
from .models import AuditHead, AuditRow
from .queries import row_fields

BATCH = 1000


@dataclass(frozen=True)
class ChainError:
    seq: int
    reason: str  # hash_mismatch | broken_link | gap | duplicate_seq | head_mismatch
    message: str


@dataclass
class VerifyReport:
    team_id: str
    ok: bool = True
    count: int = 0
    head: dict[str, Any] | None = None
    first_error: ChainError | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify_team(engine: Engine, team_id: str) -> VerifyReport:
    with temporary_on_outage(f"verifying team {team_id}"), Session(engine) as session:
        head = session.get(AuditHead, team_id)
        stmt = (select(AuditRow).where(AuditRow.team_id == team_id).order_by(AuditRow.seq)
                .execution_options(yield_per=BATCH))
        report, last_hash = _walk(team_id, session.scalars(stmt))
    report.head = {"seq": head.seq, "hash": head.hash} if head else None
    if report.ok:
        report.first_error = _check_head(head, report.count, last_hash)
        report.ok = report.first_error is None
    return report


def verify_all(engine: Engine, team_id: str | None = None) -> list[VerifyReport]:
    """Reports for every known team, or for `team_id` alone (none when it is unknown)."""
    teams = known_teams(engine)
    return [verify_team(engine, team) for team in teams if team_id in (None, team)]


def known_teams(engine: Engine) -> list[str]:
    """Teams with a head or with rows: a team whose head was deleted is still checked."""
    with temporary_on_outage("listing teams"), Session(engine) as session:
        heads = set(session.scalars(select(AuditHead.team_id)))
        with_rows = set(session.scalars(select(AuditRow.team_id).distinct()))
    return sorted(heads | with_rows)


def _walk(team_id: str, rows: Iterable[AuditRow]) -> tuple[VerifyReport, str]:
    """The report of the rows alone, and the hash of the last good row."""
    report = VerifyReport(team_id)
    expected_prev, expected_seq = GENESIS, 1
    for row in rows:
        error = _check_row(row, expected_seq, expected_prev)
        if error is not None:
            report.ok, report.first_error = False, error
            break
        expected_prev, expected_seq = row.hash, expected_seq + 1
        report.count += 1
    return report, expected_prev


def _check_row(row: AuditRow, expected_seq: int, expected_prev: str) -> ChainError | None:
    if row.seq > expected_seq:
        return ChainError(expected_seq, "gap",
                          f"seq {expected_seq} is missing (next stored row is {row.seq})")
    if row.seq < expected_seq:
        return ChainError(row.seq, "duplicate_seq", f"seq {row.seq} appears again")
    if row.prev_hash != expected_prev:
        return ChainError(row.seq, "broken_link",
                          f"seq {row.seq} does not link to seq {row.seq - 1} (rows reordered, "
                          "inserted or rewritten)")
    recomputed = link_hash(row.prev_hash, row_fields(row))
    if recomputed != row.hash:
        return ChainError(row.seq, "hash_mismatch",
                          f"seq {row.seq} was modified: stored hash {row.hash[:12]}…, "
                          f"recomputed {recomputed[:12]}…")
    return None


def _check_head(head: AuditHead | None, count: int, last_hash: str) -> ChainError | None:
    if head is None:
        return (ChainError(1, "head_mismatch", "the team has rows but no head")
                if count else None)
    if head.seq != count:
        return ChainError(min(head.seq, count) + 1, "head_mismatch",
                          f"head says seq {head.seq}, the chain ends at seq {count}")
    if head.hash != last_hash:
        return ChainError(head.seq, "head_mismatch",
                          f"head hash differs from the hash of seq {head.seq}")
    return None
