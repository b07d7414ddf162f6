"""`python -m triage_sandbox.faults`: run the fault suite and write its table.

    scripts/chaos [--runs 300] [--rate 0.5] [--replicas 2] [--out docs/reliability.md]

Exits 1 when an invariant did not hold."""

import argparse
import sys
import tempfile
import time
from pathlib import Path

from .report import render
from .runner import WORKERS, Suite, run_suite
from .schedule import MODEL_TIMEOUT_S
from .schedules import FULL, spread

INTRO = """# Reliability under faults

Measured by the fault suite (`scripts/chaos`, `sandbox/src/triage_sandbox/faults/`; a
reduced schedule runs in the test suite as `tests/chaos/test_faults.py`). Every number
below comes from the Slack and GitHub stand-ins' records, the approvals the suite made
and the audit service's chain verification, never from the services' logs. A fault's
runs are those asked while it was in effect or still unanswered when it began; its
recovery is the time from its end (a restarted process ready again, an upstream
failure cleared) until the last of them was answered. A run is answered, failed with a
message to the asker (the orchestrator's "I could not finish ..."), or stuck (neither).
"""
# Written by hand below the measured part, and kept by the next run.
NOTES = "\n## Reading the table\n"


def notes_of(path: Path) -> str:
    text = path.read_text() if path.exists() else ""
    return text[text.find(NOTES):] if NOTES in text else ""


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=300, help="at least this many")
    parser.add_argument("--rate", type=float, default=0.5, help="events per second")
    parser.add_argument("--replicas", type=int, default=2, help="of each worker service")
    parser.add_argument("--out", default="docs/reliability.md")
    return parser.parse_args()


def setup_lines(args: argparse.Namespace, suite: Suite, started: str) -> list[str]:
    return [f"run {started}: {args.runs} runs at {args.rate:g} events/s, every "
            f"{suite.write_every}th asking for an approved GitHub write",
            "3-node JetStream cluster on loopback (`sync_interval: always`), streams, KV "
            "and object stores R3",
            f"{args.replicas} processes of each of {', '.join(WORKERS)}; "
            "ingress edge and notifier apart; audit and approval on SQLite",
            "the router's OpenAI target on the scripted stand-in with a "
            f"{MODEL_TIMEOUT_S:g} s model timeout; it refuses every request (no script) "
            "unless slowed, so the offline rules agent behind it answers"]


def main() -> int:
    args = arguments()
    suite = Suite(runs=args.runs, rate=args.rate, replicas=args.replicas,
                  schedule=spread(FULL, args.runs / args.rate), scripted_model=True)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="triage-faults-") as folder:
        with (Path(folder) / "stack.log").open("w") as out:
            verdict = run_suite(suite, Path(folder) / "data", out)
    table = render(verdict, setup_lines(args, suite, started))
    doc = Path(args.out)
    doc.write_text(INTRO + "\n" + table + notes_of(doc))
    print(table)
    return 0 if verdict.held else 1


if __name__ == "__main__":
    sys.exit(main())
