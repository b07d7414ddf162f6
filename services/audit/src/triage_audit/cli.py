"""Command line for auditors and operators: `verify` and `export` against the database
directly (no NATS needed), so the chain can be checked from a copy or a read replica."""

import argparse
import json
import sys
from typing import TextIO

from triage_contracts.errors import TriageError

from .queries import iter_events
from .store import AuditStore
from .verify import VerifyReport, verify_all


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m triage_audit",
        description="Audit service. Without a command it serves (consumer + query API).",
    )
    commands = root.add_subparsers(dest="command")
    verify = commands.add_parser("verify", help="check every (or one) team's hash chain")
    verify.add_argument("--team", help="only this Slack team id")
    verify.add_argument("--database-url", help="defaults to DATABASE_URL")
    export = commands.add_parser("export", help="write a team's events with their hashes")
    export.add_argument("--team", required=True, help="Slack team id")
    export.add_argument("--run", help="only this run id")
    export.add_argument("--format", choices=["jsonl"], default="jsonl")
    export.add_argument("--database-url", help="defaults to DATABASE_URL")
    return root


def run_verify(store: AuditStore, team: str | None, out: TextIO = sys.stdout) -> int:
    reports = verify_all(store.engine, team)
    for report in reports:
        print(_summary(report), file=out)
    if not reports:
        print(f"no audit chain found{f' for team {team}' if team else ''}", file=out)
        return 1 if team else 0
    return 0 if all(r.ok for r in reports) else 1


def _summary(report: VerifyReport) -> str:
    head = report.head or {"seq": 0, "hash": "-"}
    line = f"{report.team_id}: {report.count} events, head seq {head['seq']} {head['hash'][:16]}"
    if report.ok:
        return f"{line} — intact"
    error = report.first_error
    assert error is not None
    return f"{line} — BROKEN at seq {error.seq} ({error.reason}): {error.message}"


def run_export(store: AuditStore, team: str, run: str | None, out: TextIO = sys.stdout) -> int:
    for event in iter_events(store.engine, team, run):
        out.write(json.dumps(event, sort_keys=True, ensure_ascii=False) + "\n")
    return 0


def run_command(args: argparse.Namespace, default_database_url: str) -> int:
    """Exit status: 0 intact / exported, 1 broken or unknown team, 2 database unreachable."""
    store = AuditStore.from_url(args.database_url or default_database_url)
    try:
        if args.command == "verify":
            return run_verify(store, args.team)
        return run_export(store, args.team, args.run)
    except TriageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        store.dispose()
