"""Tamper trials: random edits, deletions, reorderings, truncations, whole-chain recomputes,
team deletions and forged checkpoints made with raw SQL, each followed by a full verify.

One real database per backend (SQLite file, PostgreSQL schema) holds three teams' chains,
anchored by two signed batches in a file sink, plus a few events after the last batch (the
exposure window). Each trial tampers inside a transaction, runs `verify_log` on that same
connection (re-reading the sink), and rolls back, so every trial starts from the same log.
Tampering that leaves a valid chain (truncate, recompute, delete a team) targets anchored
events only: events after the last checkpoint are the documented exposure window.

    uv run python services/audit/benchmarks/tamper_trials.py [--trials 1000] [--seed 7] \
        [--update-doc docs/security-audit.md]

prints a markdown table per backend; with --update-doc it also replaces the text between the
document's `<!-- tamper-trials -->` and `<!-- /tamper-trials -->` markers, so the figures in
docs/security-audit.md are this script's output. PostgreSQL comes from
AUDIT_TEST_POSTGRES_URL or 127.0.0.1:5432/test; the schema made here is dropped afterwards.
"""

import argparse
import os
import random
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, create_engine, select, text
from sqlalchemy.orm import Session
from triage_audit.chain import link_hash
from triage_audit.checkpointer import Checkpointer
from triage_audit.keys import SigningKey, key_id_of
from triage_audit.models import AuditRow
from triage_audit.queries import row_fields
from triage_audit.sinks import FileSink
from triage_audit.store import AuditStore
from triage_audit.verify_log import LogReport, read_trust, verify_log
from triage_contracts.messages import AuditEvent, AuditKind

TEAMS = ("TA", "TB", "TC")
PER_BATCH, BATCHES, WINDOW = 15, 2, 5  # anchored seq = 30, chains end at 35
ANCHORED = PER_BATCH * BATCHES
KINDS = ("edit", "delete", "reorder", "truncate", "recompute", "delete_team", "forge_checkpoint")
POSTGRES_URL = os.environ.get(
    "AUDIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@dataclass
class Tally:
    backend: str
    trials: Counter[str] = field(default_factory=Counter)
    detected: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    missed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.trials.values())

    @property
    def total_detected(self) -> int:
        return sum(self.detected.values())


@dataclass
class Log:
    store: AuditStore
    sink: FileSink
    public_keys: dict[str, object]


def prepare(url: str, folder: Path) -> Log:
    """Three teams' chains, two signed batches in a file sink, then the unanchored tail."""
    store = AuditStore.from_url(url)
    store.create_schema()
    private = Ed25519PrivateKey.generate()
    key = SigningKey(key_id_of(private.public_key()), private, "trials")
    sink = FileSink(folder / "anchors")
    checkpointer = Checkpointer(store.engine, [sink], key, {})
    for batch in range(BATCHES + 1):
        for i in range(PER_BATCH if batch < BATCHES else WINDOW):
            for team in TEAMS:
                store.append(_event(team, f"{batch}-{i}"))
        if batch < BATCHES:
            checkpointer.run_batch()
    return Log(store, sink, {key.key_id: key.public})


def _event(team: str, tag: str) -> AuditEvent:
    return AuditEvent(team_id=team, run_id=f"run-{tag[0]}", service="tools",
                      audit_kind=AuditKind.TOOL_CALL, action=f"github.search {tag}",
                      actor="U1", detail={"tag": tag, "n": [1, 2.5]}, cost_usd=0.01)


def run_trials(log: Log, backend: str, trials: int, seed: int) -> Tally:
    rng, tally = random.Random(seed), Tally(backend)
    started = time.perf_counter()
    for number in range(trials):  # every kind equally often, teams and targets at random
        kind, team = KINDS[number % len(KINDS)], rng.choice(TEAMS)
        with _rolled_back(log) as conn:
            what = TAMPER[kind](conn, team, rng)
            report = verify_log(conn, read_trust([log.sink], log.public_keys))  # type: ignore[arg-type]
        tally.trials[kind] += 1
        if report.ok:
            tally.missed.append(f"{kind} {team}: {what}")
        else:
            tally.detected[kind] += 1
            tally.reasons[_first_reason(report)] += 1
    tally.seconds = time.perf_counter() - started
    return tally


@contextmanager
def _rolled_back(log: Log) -> Iterator[Connection]:
    with log.store.engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()


def _first_reason(report: LogReport) -> str:
    """The failed check, and whether only the external anchor could tell."""
    for team in report.teams:
        if team.first_error is not None:
            external = "external checkpoint" in team.first_error.message
            return team.first_error.reason + (" (external)" if external else "")
    return "sink"


def _rows(session: Session, team: str, from_seq: int = 1) -> list[AuditRow]:
    stmt = (select(AuditRow).where(AuditRow.team_id == team, AuditRow.seq >= from_seq)
            .order_by(AuditRow.seq))
    return list(session.scalars(stmt))


def _edit_row(row: AuditRow, rng: random.Random) -> str:
    column = rng.choice(["action", "outcome", "actor", "run_id", "detail", "cost_usd",
                         "created_at", "service", "kind"])
    value = getattr(row, column)
    if column == "detail":
        row.detail = {**value, "forged": rng.randint(1, 10**6)}
    elif column == "cost_usd":
        row.cost_usd = value + rng.choice([0.5, -0.005, 100.0])
    elif column == "created_at":
        row.created_at = value + timedelta(microseconds=rng.randint(1, 10**9))
    else:
        setattr(row, column, value + "~")
    return f"seq {row.seq} {column}"


def edit(conn: Connection, team: str, rng: random.Random) -> str:
    with Session(conn) as session:
        what = _edit_row(_rows(session, team, rng.randint(1, ANCHORED + WINDOW))[0], rng)
        session.flush()
    return what


def delete(conn: Connection, team: str, rng: random.Random) -> str:
    seq = rng.randint(1, ANCHORED + WINDOW)
    _sql(conn, "DELETE FROM audit_events WHERE team_id = :t AND seq = :s", t=team, s=seq)
    return f"seq {seq}"


def reorder(conn: Connection, team: str, rng: random.Random) -> str:
    first, second = sorted(rng.sample(range(1, ANCHORED + WINDOW + 1), 2))
    for old, new in ((first, -1), (second, first), (-1, second)):
        _sql(conn, "UPDATE audit_events SET seq = :n WHERE team_id = :t AND seq = :o",
             n=new, t=team, o=old)
    return f"seqs {first} and {second}"


def truncate(conn: Connection, team: str, rng: random.Random) -> str:
    """Cut the chain back to seq k and make the head agree: a valid, shorter chain."""
    keep = rng.randint(0, ANCHORED - 1)
    _sql(conn, "DELETE FROM audit_events WHERE team_id = :t AND seq > :k", t=team, k=keep)
    _sql(conn, "DELETE FROM audit_checkpoints WHERE team_id = :t AND seq > :k", t=team, k=keep)
    with Session(conn) as session:
        rows = _rows(session, team, keep)
        last = rows[-1].hash if rows and keep else None
    if last is None:
        _sql(conn, "DELETE FROM audit_heads WHERE team_id = :t", t=team)
    else:
        _sql(conn, "UPDATE audit_heads SET seq = :k, hash = :h WHERE team_id = :t",
             k=keep, h=last, t=team)
    return f"to seq {keep}"


def recompute(conn: Connection, team: str, rng: random.Random) -> str:
    """Edit an anchored row, then recompute every later hash and the head (the chain
    verifies on its own); half the time also delete the team's stored checkpoints."""
    with Session(conn) as session:
        rows = _rows(session, team, rng.randint(1, ANCHORED))
        what = _edit_row(rows[0], rng)
        prev = rows[0].prev_hash
        for row in rows:
            row.prev_hash, row.hash = prev, link_hash(prev, row_fields(row))
            prev = row.hash
        session.flush()
    _sql(conn, "UPDATE audit_heads SET hash = :h WHERE team_id = :t", h=prev, t=team)
    if rng.random() < 0.5:
        _sql(conn, "DELETE FROM audit_checkpoints WHERE team_id = :t", t=team)
        what += ", stored checkpoints deleted"
    return what


def delete_team(conn: Connection, team: str, _rng: random.Random) -> str:
    for table in ("audit_events", "audit_heads", "audit_checkpoints"):
        _sql(conn, f"DELETE FROM {table} WHERE team_id = :t", t=team)
    return "every row, head and checkpoint"


def forge_checkpoint(conn: Connection, team: str, rng: random.Random) -> str:
    """Point a stored checkpoint at another hash (its signature cannot follow)."""
    documents = _sql(conn, "SELECT id, document FROM audit_checkpoints WHERE team_id = :t",
                     t=team)
    row_id, document = rng.choice(documents)
    forged = document.replace('"head_hash":"', '"head_hash":"f', 1)
    _sql(conn, "UPDATE audit_checkpoints SET document = :d WHERE id = :i", d=forged, i=row_id)
    return f"checkpoint row {row_id}"


TAMPER: dict[str, Callable[[Connection, str, random.Random], str]] = {
    "edit": edit, "delete": delete, "reorder": reorder, "truncate": truncate,
    "recompute": recompute, "delete_team": delete_team, "forge_checkpoint": forge_checkpoint,
}


def _sql(conn: Connection, statement: str, **params: object) -> list[tuple[object, ...]]:
    result = conn.execute(text(statement), params)
    return [tuple(row) for row in result] if result.returns_rows else []


def markdown(tallies: list[Tally]) -> str:
    lines = ["| backend | tampering | trials | detected | rate |",
             "| --- | --- | --- | --- | --- |"]
    for tally in tallies:
        for kind in KINDS:
            n, d = tally.trials[kind], tally.detected[kind]
            lines.append(f"| {tally.backend} | {kind} | {n} | {d} | {d / n:.0%} |")
        lines.append(f"| **{tally.backend}** | **all** | **{tally.total}** | "
                     f"**{tally.total_detected}** | **{tally.total_detected / tally.total:.0%}** |")
    reasons = "; ".join(f"{t.backend}: " + ", ".join(f"{r} {n}" for r, n in t.reasons.most_common())
                        for t in tallies)
    return "\n".join(lines) + f"\n\nFirst failed check reported: {reasons}.\n"


@contextmanager
def postgres_schema() -> Iterator[str]:
    schema = f"audit_trials_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def update_doc(path: Path, section: str) -> None:
    start, end = "<!-- tamper-trials -->", "<!-- /tamper-trials -->"
    text = path.read_text()
    before, _, rest = text.partition(start)
    _, found, after = rest.partition(end)
    if not found:
        raise SystemExit(f"{path}: no {start} … {end} markers")
    path.write_text(f"{before}{start}\n{section}{end}{after}")


def main() -> None:
    args = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    args.add_argument("--trials", type=int, default=1000, help="per backend")
    args.add_argument("--seed", type=int, default=7)
    args.add_argument("--update-doc", type=Path, help="write the figures into this document")
    options = args.parse_args()
    tallies = []
    with tempfile.TemporaryDirectory() as folder, postgres_schema() as pg_url:
        for backend, url in (("SQLite", f"sqlite:///{folder}/audit.db"), ("PostgreSQL", pg_url)):
            log = prepare(url, Path(folder) / backend)
            tallies.append(run_trials(log, backend, options.trials, options.seed))
            log.store.dispose()
    timing = ", ".join(f"{t.backend} {t.seconds:.1f} s" for t in tallies)
    section = (markdown(tallies) + f"\n`tamper_trials.py --trials {options.trials} --seed "
               f"{options.seed}`: {timing}; undetected: "
               f"{sum(len(t.missed) for t in tallies)}.\n")
    print(section)
    if options.update_doc:
        update_doc(options.update_doc, section)


if __name__ == "__main__":
    main()
