"""Record a world from real systems into a case folder:

    python -m evals.record --github-url https://api.github.com --repo acme/shop \\
        --prometheus-url http://prom:9090 --alertmanager-url http://am:9093 \\
        --query 'http_requests_total{service="shop"}' --out evals/cases/<new>/world.yaml

GitHub through PyGithub (the tools service's own client library; GITHUB_TOKEN from the
environment when set), Prometheus and Alertmanager over their HTTP APIs with httpx. The
world file is anchored at the moment of recording (`now:`, every time absolute), so a
case replays exactly what the systems said then. Every text (bodies, comments, patches,
CI logs, annotations) goes through the project's redaction (`redact_text`) before it is
written, and the file is loaded back (validated and built) before it is saved.
"""

import argparse
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from github import Auth, Github
from triage_contracts.redact import redact_text
from triage_sandbox.world import WorldError
from triage_sandbox.world.load import build_world, spec_of

from . import record_metrics
from .record_github import People, RepoRecorder, iso

LIMITS = {"commits": 30, "runs": 30, "issues": 50, "pulls": 30, "comments": 30}
_WINDOW = re.compile(r"^(\d+)([mhd])$")


def scrub(text: str) -> str:
    return redact_text(text)


def record(github_url: str | None, repos: list[str], prometheus_url: str | None,
           alertmanager_url: str | None, queries: list[str], window: timedelta,
           step_s: int, token: str | None = None, now: datetime | None = None,
           limits: dict[str, int] | None = None) -> dict[str, Any]:
    """The world file's mapping for what the systems hold now."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    people = People()
    world: dict[str, Any] = {"now": iso(now)}
    if github_url and repos:
        gh = Github(base_url=github_url.rstrip("/"),
                    auth=Auth.Token(token) if token else None)
        headers = {"Authorization": f"token {token}"} if token else {}
        recorder = RepoRecorder(gh, people, scrub, limits or LIMITS, headers)
        owners = {r.split("/")[0] for r in repos}
        if len(owners) != 1:
            raise ValueError("a world holds one organisation's repositories: record the "
                             f"others into another world ({', '.join(sorted(owners))})")
        world["org"] = owners.pop()
        world["repos"] = {r.split("/")[1]: recorder.record(r) for r in repos}
    if prometheus_url:
        world["series"] = record_metrics.series(prometheus_url, queries, now, window, step_s)
        world["alerts"] = record_metrics.alerts(prometheus_url, alertmanager_url, scrub)
    if alertmanager_url:
        world["silences"] = record_metrics.silences(alertmanager_url, scrub)
    world["people"] = people.seen
    return world


def check(world: dict[str, Any]) -> None:
    """The world loads as the stand-ins would load it (raises WorldError with why)."""
    try:
        build_world(spec_of(world, "recorded world"))
    except (KeyError, ValueError) as exc:
        raise WorldError(f"recorded world: {exc}") from None


def save(world: dict[str, Any], out: Path, source: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    header = (f"# Recorded by `python -m evals.record` from {source} at {world['now']}.\n"
              "# Secrets were redacted; review before committing.\n")
    out.write_text(header + yaml.safe_dump(world, sort_keys=False, allow_unicode=True,
                                           width=100), encoding="utf-8")


def _window(text: str) -> timedelta:
    match = _WINDOW.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"a window like 30m, 6h or 2d, not {text!r}")
    unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m evals.record", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--github-url", help="GitHub API base URL (https://api.github.com)")
    parser.add_argument("--repo", action="append", default=[], help="owner/name (repeatable)")
    parser.add_argument("--prometheus-url")
    parser.add_argument("--alertmanager-url")
    parser.add_argument("--query", action="append", default=[],
                        help="PromQL whose series to record (repeatable)")
    parser.add_argument("--window", type=_window, default=timedelta(hours=6),
                        help="how far back series go (default 6h)")
    parser.add_argument("--step", type=int, default=300, help="series resolution, s")
    parser.add_argument("--out", type=Path, required=True, help="the world file to write")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (args.github_url and args.repo) and not args.prometheus_url:
        print("error: give --github-url with --repo, and/or --prometheus-url", file=sys.stderr)
        return 2
    try:
        world = record(args.github_url, args.repo, args.prometheus_url, args.alertmanager_url,
                       args.query, args.window, args.step, os.environ.get("GITHUB_TOKEN"))
        check(world)
    except (WorldError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sources = ", ".join(filter(None, [args.github_url, args.prometheus_url,
                                      args.alertmanager_url]))
    save(world, args.out, sources)
    print(f"recorded {len(world.get('repos', {}))} repositories, "
          f"{len(world.get('series', []))} series, {len(world.get('alerts', []))} alerts "
          f"into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
