"""Answers people rated "Not helpful" in Slack, as eval case candidates:
`python -m evals.feedback --audit-url URL --team T [--token TOKEN] [--out DIR] [--all]`.

Reads the team's ratings from the audit API (`kind=feedback`), then each rated run's request
(the question, as the audit log keeps it: redacted and cut at 500 characters), and writes one
case folder per rated run under `--out` (default `evals/candidates/`, which the suite does
not load). A candidate holds the question and where it came from; a person adds the world
and the expected elements, then moves it to `evals/cases/` (see evals/README.md).
"""

import argparse
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml

from .cases import load_case

DEFAULT_OUT = Path(__file__).parent / "candidates"
REQUEST_ACTIONS = ("slack.mention", "slack.dm", "slack.command", "slack.thread_reply")


def fetch(audit_url: str, team: str, token: str | None, **params: str) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    events: list[dict[str, Any]] = []
    after: int | None = 0
    with httpx.Client(timeout=30, headers=headers) as http:
        while after is not None:
            resp = http.get(f"{audit_url.rstrip('/')}/audit/{team}/events",
                            params={**params, "limit": 1000, "after_seq": after})
            resp.raise_for_status()
            page = resp.json()
            events += page["events"]
            after = page.get("next_after_seq")
    return events


def candidate(rating: dict[str, Any], run_events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The test_case.yaml of one rated run (None: its question is not in the log)."""
    asked = next((e for e in run_events if e["action"] in REQUEST_ACTIONS), None)
    question = (asked or {}).get("detail", {}).get("text")
    if not question:
        return None
    verdict = rating["action"].removeprefix("feedback.")
    return {
        "description": (f"From Slack: {rating['actor']} rated the answer of run "
                        f"{rating['run_id']} as {verdict} on {rating['created_at'][:10]}. "
                        "TODO: give it a world and the elements of a good answer, then "
                        "move it to evals/cases/."),
        "user_prompt": question,
        "tags": ["replay"],
    }


def export(audit_url: str, team: str, token: str | None, out: Path,
           include_good: bool = False) -> list[Path]:
    written = []
    for rating in fetch(audit_url, team, token, kind="feedback"):
        if rating["action"] != "feedback.bad" and not include_good:
            continue
        spec = candidate(rating, fetch(audit_url, team, token, run_id=rating["run_id"]))
        folder = out / rating["run_id"].lower()
        if spec is None or folder.exists():
            continue  # nothing to ask again, or exported before (kept as edited)
        folder.mkdir(parents=True)
        (folder / "test_case.yaml").write_text(yaml.safe_dump(spec, sort_keys=False,
                                                              allow_unicode=True))
        load_case(folder)  # a candidate is a valid case from the start
        written.append(folder)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.feedback", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--audit-url", required=True, help="the audit service, e.g. :8330")
    parser.add_argument("--team", required=True, help="the workspace (team) id")
    parser.add_argument("--token", help="the audit API's bearer token, if it has one")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--all", action="store_true", help="helpful answers too")
    args = parser.parse_args(argv)
    try:
        written = export(args.audit_url, args.team, args.token, args.out, args.all)
    except httpx.HTTPError as exc:
        print(f"error: the audit API did not answer: {exc}", file=sys.stderr)
        return 2
    for folder in written:
        print(f"candidate: {folder}")
    print(f"{len(written)} new candidate(s) in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
