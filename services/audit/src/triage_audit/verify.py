"""Integrity verification: recompute each team's chain, hold it against every signed
statement about it, and say where it first breaks.

The chain alone detects a changed row (its hash no longer matches its fields), a deleted
row (a gap in seq), reordered rows (a row no longer links to its predecessor), and a tail
the head row disagrees with. Someone who can write the database can recompute all of that;
the signed statements catch them: every stored checkpoint must carry a valid signature of a
trusted key and agree with the chain, and so must the newest batch in each external sink
(`anchor_mismatch`: rewritten and recomputed; `truncated`: shorter than signed;
`team_deleted`: a team the manifest lists is gone). Reads in seq order; the statements of
one team are held in memory, the rows are not.
"""

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, inspect, select
from sqlalchemy.orm import Session

from .anchor import Signed, signature_problem, statement_problem
from .chain import GENESIS, ChainError, link_hash
from .db import temporary_on_outage
from .external import LatestBatch
from .models import AuditCheckpoint, AuditHead, AuditRow
from .queries import row_fields

BATCH = 1000
Bind = Engine | Connection  # a Connection lets a caller verify inside its own transaction


@dataclass(frozen=True)
class Trust:
    """What verification trusts besides the rules: public keys, and the newest batch read
    from each sink (read once per verification run, see external.py)."""

    public_keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    external: list[LatestBatch] = field(default_factory=list)


@dataclass(frozen=True)
class Statement:
    """A signed claim "row `seq` has hash `head_hash`" (or a signature that failed)."""

    seq: int
    head_hash: str
    where: str
    problem: ChainError | None = None


@dataclass
class VerifyReport:
    team_id: str
    ok: bool = True
    count: int = 0
    head: dict[str, Any] | None = None
    first_error: ChainError | None = None
    checkpoints: int = 0  # stored checkpoints checked
    anchor: dict[str, Any] | None = None  # the newest external checkpoint of the team

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Walk:
    count: int
    last_hash: str
    error: ChainError | None


def verify_team(bind: Bind, team_id: str, trust: Trust | None = None) -> VerifyReport:
    """The team's report; without `trust`, the chain alone (no signature can be checked)."""
    with temporary_on_outage(f"verifying team {team_id}"), Session(bind) as session:
        head = session.get(AuditHead, team_id)
        stored = stored_statements(session, team_id, trust.public_keys) if trust else []
        trust = trust or Trust()
        statements = sorted(stored + external_statements(team_id, trust.external),
                            key=lambda s: s.seq)
        stmt = (select(AuditRow).where(AuditRow.team_id == team_id).order_by(AuditRow.seq)
                .execution_options(yield_per=BATCH))
        walked = walk(session.scalars(stmt), statements, team_id=team_id)
    report = VerifyReport(team_id, count=walked.count, checkpoints=len(stored),
                          head={"seq": head.seq, "hash": head.hash} if head else None,
                          anchor=_newest_anchor(team_id, trust.external))
    report.first_error = walked.error or _check_head(head, walked.count, walked.last_hash)
    report.ok = report.first_error is None
    return report


def walk(rows: Iterable[AuditRow], statements: list[Statement] | None = None,
         start_seq: int = 1, start_prev: str = GENESIS, team_id: str = "") -> Walk:
    """Check rows from `start_seq` (linking to `start_prev`) and the statements (sorted by
    seq) about them; stop at the first problem."""
    pending: Iterator[Statement] = iter(statements or [])
    upcoming = next(pending, None)
    expected_prev, expected_seq = start_prev, start_seq
    for row in rows:
        error = _check_row(row, expected_seq, expected_prev)
        while error is None and upcoming is not None and upcoming.seq <= row.seq:
            at_seq = row.hash if upcoming.seq == row.seq else None
            error = upcoming.problem or statement_problem(
                row.team_id, upcoming.seq, upcoming.head_hash, row.seq, at_seq, upcoming.where)
            upcoming = next(pending, None)
        if error is not None:
            return Walk(expected_seq - start_seq, expected_prev, error)
        expected_prev, expected_seq = row.hash, expected_seq + 1
    count = expected_seq - start_seq
    if upcoming is not None:  # a statement beyond the chain's end
        error = upcoming.problem or statement_problem(
            team_id, upcoming.seq, upcoming.head_hash, count, None, upcoming.where)
        return Walk(count, expected_prev, error)
    return Walk(count, expected_prev, None)


def has_checkpoints(session: Session) -> bool:
    """A database from before anchoring (or a replica not yet migrated) has no checkpoint
    table: verify still checks its chains and the sinks, and never creates the table."""
    return inspect(session.connection()).has_table(AuditCheckpoint.__tablename__)


def stored_statements(session: Session, team_id: str,
                      public_keys: dict[str, Ed25519PublicKey]) -> list[Statement]:
    """Every checkpoint the database holds for the team, with its signature checked."""
    if not has_checkpoints(session):
        return []
    rows = session.scalars(select(AuditCheckpoint).where(AuditCheckpoint.team_id == team_id))
    return [_stored(row, team_id, public_keys) for row in rows]


def _stored(row: AuditCheckpoint, team_id: str,
            public_keys: dict[str, Ed25519PublicKey]) -> Statement:
    where = f"stored checkpoint at seq {row.seq} (batch {row.batch})"
    try:
        signed = Signed.from_json(row.document)
        problem = signature_problem(signed, public_keys)
        payload = signed.payload
        if problem is None and (payload.get("team_id"), payload.get("seq")) != (team_id, row.seq):
            problem = f"signed for team {payload.get('team_id')} seq {payload.get('seq')}"
    except ValueError as exc:
        problem, payload = str(exc), {}
    if problem is not None:
        return Statement(row.seq, "", where,
                         ChainError(row.seq, "bad_signature", f"{where}: {problem}"))
    return Statement(row.seq, str(payload.get("head_hash")), where)


def external_statements(team_id: str, external: list[LatestBatch]) -> list[Statement]:
    """The team's entry in the newest batch of each sink."""
    out = []
    for latest in external:
        manifest = latest.manifest
        entry = manifest.entries.get(team_id) if manifest else None
        if manifest is not None and entry is not None:
            where = f"the external checkpoint (batch {manifest.batch}, {latest.sink})"
            out.append(Statement(entry.seq, entry.head_hash, where))
    return out


def _newest_anchor(team_id: str, external: list[LatestBatch]) -> dict[str, Any] | None:
    found = [(item.manifest, item.sink) for item in external
             if item.manifest is not None and team_id in item.manifest.entries]
    if not found:
        return None
    manifest, sink = max(found, key=lambda pair: pair[0].entries[team_id].seq)
    entry = manifest.entries[team_id]
    return {"sink": sink, "batch": manifest.batch, "created_at": manifest.created_at,
            "seq": entry.seq, "hash": entry.head_hash}


def verify_all(bind: Bind, team_id: str | None = None,
               trust: Trust | None = None) -> list[VerifyReport]:
    """Reports for every known team, or for `team_id` alone (none when it is unknown)."""
    teams = known_teams(bind, trust)
    return [verify_team(bind, team, trust) for team in teams if team_id in (None, team)]


def known_teams(bind: Bind, trust: Trust | None = None) -> list[str]:
    """Teams with a head, rows or a stored checkpoint, or listed in an external manifest:
    a team whose head, rows or checkpoints were deleted is still checked."""
    with temporary_on_outage("listing teams"), Session(bind) as session:
        teams = set(session.scalars(select(AuditHead.team_id)))
        teams |= set(session.scalars(select(AuditRow.team_id).distinct()))
        if has_checkpoints(session):
            teams |= set(session.scalars(select(AuditCheckpoint.team_id).distinct()))
    for latest in (trust.external if trust else []):
        teams |= set(latest.manifest.entries) if latest.manifest else set()
    return sorted(teams)


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
