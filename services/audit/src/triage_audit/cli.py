"""Command line for auditors and operators: `verify`, `export` and `keygen`, against the
database and the sinks directly (no NATS needed), so the chain can be checked from a copy or
a read replica, by someone who holds only the public keys."""

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from triage_contracts.errors import TriageError

from .keys import trusted_keys, write_key_pair
from .queries import iter_events
from .settings import Settings
from .sinks import parse_sinks
from .store import AuditStore
from .verify import VerifyReport
from .verify_log import AnchorStatus, read_trust, verify_log


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m triage_audit",
        description="Audit service. Without a command it serves (consumer + query API).",
    )
    commands = root.add_subparsers(dest="command")
    verify = commands.add_parser(
        "verify", help="check every (or one) team's chain, checkpoints and external anchor")
    verify.add_argument("--team", help="only this Slack team id")
    verify.add_argument("--database-url", help="defaults to DATABASE_URL")
    verify.add_argument("--sinks", help="defaults to AUDIT_ANCHOR_SINKS")
    verify.add_argument("--public-keys", help="defaults to AUDIT_CHECKPOINT_PUBLIC_KEYS")
    verify.add_argument("--require-anchor", action="store_true",
                        help="fail when a sink holds no batch (always so in production)")
    export = commands.add_parser("export", help="write a team's events with their hashes")
    export.add_argument("--team", required=True, help="Slack team id")
    export.add_argument("--run", help="only this run id")
    export.add_argument("--format", choices=["jsonl"], default="jsonl")
    export.add_argument("--database-url", help="defaults to DATABASE_URL")
    keygen = commands.add_parser("keygen", help="create a checkpoint key pair (PEM files)")
    keygen.add_argument("--out", required=True, type=Path,
                        help="private key file (created 0600); the public key goes to OUT.pub")
    return root


def run_verify(store: AuditStore, settings: Settings, args: argparse.Namespace,
               out: TextIO = sys.stdout) -> int:
    _key, public_keys = trusted_keys(settings)
    trust = read_trust(parse_sinks(settings.sink_spec()), public_keys)
    required = args.require_anchor or settings.is_production()
    report = verify_log(store.engine, trust, args.team, required)
    for team in report.teams:
        print(_summary(team), file=out)
    for line in _anchor_lines(report.anchors):
        print(line, file=out)
    if not report.teams:
        print(f"no audit chain found{f' for team {args.team}' if args.team else ''}", file=out)
        return 1 if args.team or not report.ok else 0
    return 0 if report.ok else 1


def _summary(report: VerifyReport) -> str:
    head = report.head or {"seq": 0, "hash": "-"}
    line = f"{report.team_id}: {report.count} events, head seq {head['seq']} {head['hash'][:16]}"
    if not report.ok:
        error = report.first_error
        assert error is not None
        return f"{line} — BROKEN at seq {error.seq} ({error.reason}): {error.message}"
    anchor = report.anchor
    anchored = (f"anchored at seq {anchor['seq']} (batch {anchor['batch']}, {anchor['sink']})"
                if anchor else "not anchored externally yet")
    return f"{line} — intact; {anchored}; stored checkpoints: {report.checkpoints} valid"


def _anchor_lines(statuses: list[AnchorStatus]) -> list[str]:
    """One line per sink that holds a batch or failed; empty sinks that are fine (nothing
    anchored yet, none required) are summed up in one line."""
    shown = [_anchor_line(s) for s in statuses if s.batch is not None or not s.ok]
    empty = sum(1 for s in statuses if s.batch is None and s.ok)
    if empty:
        shown.append(f"anchor: no batch yet in {empty} sink(s) — ok until the first checkpoint")
    return shown


def _anchor_line(status: AnchorStatus) -> str:
    newest = (f"batch {status.batch} of {status.created_at}, {status.teams} teams"
              if status.batch is not None else "no batch yet")
    verdict = "ok" if status.ok else f"FAILED: {status.problem}"
    return f"anchor {status.sink}: {newest} — {verdict}"


def run_export(store: AuditStore, team: str, run: str | None, out: TextIO = sys.stdout) -> int:
    for event in iter_events(store.engine, team, run):
        out.write(json.dumps(event, sort_keys=True, ensure_ascii=False) + "\n")
    return 0


def run_keygen(path: Path, out: TextIO = sys.stdout) -> int:
    key_id = write_key_pair(path)
    print(f"checkpoint key {key_id}: private {path} (0600), public {path}.pub", file=out)
    return 0


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    """Exit status: 0 intact / done, 1 broken or unknown team, 2 unreachable or unusable."""
    if args.command == "keygen":
        return _guarded(lambda: run_keygen(args.out))
    if args.command == "verify":
        settings = _overridden(settings, args)
    store = AuditStore.from_url(args.database_url or settings.database_url)
    try:
        if args.command == "verify":
            return _guarded(lambda: run_verify(store, settings, args))
        return _guarded(lambda: run_export(store, args.team, args.run))
    finally:
        store.dispose()


def _overridden(settings: Settings, args: argparse.Namespace) -> Settings:
    changes = {"audit_anchor_sinks": args.sinks, "database_url": args.database_url,
               "audit_checkpoint_public_keys": args.public_keys}
    return settings.model_copy(update={k: v for k, v in changes.items() if v is not None})


def _guarded(command: Callable[[], int]) -> int:
    try:
        return command()
    except TriageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
