"""Benchmark P5: audit appends, hash-chained one by one and in groups, against the same
inserts unchained.

    uv run python benchmarks/audit_append.py [--events 2000] [--group 64] [--rounds 3]

On SQLite (a file in a temporary folder, WAL, synchronous=FULL: the service's engine) and
PostgreSQL (127.0.0.1:5432 database `test`, a fresh schema, dropped afterwards; set
AUDIT_BENCH_POSTGRES_URL for another server), four writers store the same events:
- unchained, one by one: INSERT the finished row, one transaction each (the anchor);
- chained, one by one: `AuditStore.append` (head lock, dedupe check, hash, head update);
- unchained, in groups: INSERT `--group` finished rows per transaction (the group anchor);
- chained, in groups: `AuditStore.append_many` with `--group` events per transaction.
Both build the same rows (redaction, canonical JSON, hash); the difference is the chain's
bookkeeping (head lock, dedupe lookup, head update) and the ORM. Each writer gets its own
team (its own chain) and fresh events; rounds alternate the writers so drift on a shared
machine hits all of them. Reported: events/s (median of the
rounds) and the ratio chained/unchained for the same transaction size.
"""

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert
from triage_audit.chain import GENESIS
from triage_audit.db import IMMEDIATE
from triage_audit.models import AuditHead, AuditRow
from triage_audit.store import AuditStore, _new_row
from triage_contracts.ids import utcnow
from triage_contracts.messages import AuditEvent, AuditKind
from triage_contracts.testing import postgres

Writer = Callable[[AuditStore, list[AuditEvent]], None]


def events(team: str, n: int) -> list[AuditEvent]:
    return [AuditEvent(team_id=team, run_id=f"r{i // 10}", service="tools",
                       audit_kind=AuditKind.TOOL_CALL, action=f"github.search #{i}",
                       detail={"repo": "acme/shop", "i": i}, cost_usd=0.0) for i in range(n)]


def finished_rows(batch: list[AuditEvent]) -> list[dict[str, Any]]:
    """The rows as the chain stores them (redacted, hashed), without a head to read, lock
    or move, or a stored copy to look for."""
    head = AuditHead(team_id=batch[0].team_id, seq=0, hash=GENESIS)
    rows = []
    for event in batch:
        row = _new_row(event, head, utcnow())
        head.seq, head.hash = row["seq"], row["hash"]
        rows.append(row)
    return rows


def unchained(group: int) -> Writer:
    def write(store: AuditStore, batch: list[AuditEvent]) -> None:
        rows = finished_rows(batch)
        for start in range(0, len(rows), group):
            with store.engine.connect().execution_options(**IMMEDIATE) as conn, conn.begin():
                conn.execute(insert(AuditRow), rows[start:start + group])
    return write


def chained(group: int) -> Writer:
    def write(store: AuditStore, batch: list[AuditEvent]) -> None:
        for start in range(0, len(batch), group):
            store.append_many(batch[start:start + group])
    return write


def measure(url: str, n: int, group: int, rounds: int) -> dict[str, list[float]]:
    store = AuditStore.from_url(url)
    store.create_schema()
    writers = {"unchained, one by one": unchained(1), "chained, one by one": chained(1),
               f"unchained, groups of {group}": unchained(group),
               f"chained, groups of {group}": chained(group)}
    rates: dict[str, list[float]] = {name: [] for name in writers}
    for r in range(rounds):
        for w, (name, write) in enumerate(writers.items()):
            batch = events(f"T{r}x{w}", n)
            started = time.perf_counter()
            write(store, batch)
            rates[name].append(n / (time.perf_counter() - started))
    store.dispose()
    return rates


def report(backend: str, rates: dict[str, list[float]]) -> None:
    medians = {name: statistics.median(values) for name, values in rates.items()}
    names = list(medians)
    for name in names:
        anchor = medians[names[0]] if "one by one" in name else medians[names[2]]
        print(f"| {backend} | {name} | {medians[name]:,.0f} | "
              f"{min(rates[name]):,.0f}–{max(rates[name]):,.0f} | "
              f"{medians[name] / anchor:.2f}× |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--group", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("| backend | writer | events/s (median) | range | vs unchained, same tx size |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        report("SQLite", measure(f"sqlite:///{folder}/audit.db", args.events, args.group,
                                 args.rounds))
    url = os.environ.get("AUDIT_BENCH_POSTGRES_URL", postgres.DEFAULT_URL)
    with postgres.fresh_schema(url, "audit_bench", "AUDIT_BENCH_POSTGRES_URL") as (found, _):
        report("PostgreSQL", measure(found, args.events, args.group, args.rounds))


if __name__ == "__main__":
    main()
