"""Facts the offline rules read out of tool outputs. Pure, and tolerant: tool output is
untrusted data in shapes that may vary, so a missing field means "no fact", never a crash."""

import re
import statistics
from datetime import UTC, datetime
from typing import Any

JUMP_FACTOR = 1.5  # a value this many times the earlier median is a jump


def items(data: Any, *keys: str) -> list[dict[str, Any]]:
    """The list inside a tool output (a list, or a dict holding one under `keys`)."""
    if isinstance(data, dict):
        for key in keys:
            if isinstance(data.get(key), list):
                data = data[key]
                break
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def every(outputs: list[Any], *keys: str) -> list[dict[str, Any]]:
    return [item for data in outputs for item in items(data, *keys)]


def named_repo(question: str, repos: list[str]) -> str | None:
    lowered = question.lower()
    for repo in repos:
        if repo.lower() in lowered or re.search(
                rf"(?<![\w-]){re.escape(repo.split('/')[-1].lower())}(?![\w-])", lowered):
            return repo
    return None


def first_failing_run(outputs: list[Any]) -> dict[str, Any] | None:
    """The oldest run of the failing streak at the top (newest first): where it broke."""
    runs = every(outputs, "workflow_runs", "runs")
    first = None
    for run in runs:
        if run.get("conclusion") != "failure":
            break
        first = run
    return first


def failed_job(outputs: list[Any]) -> dict[str, Any] | None:
    return next((job for job in every(outputs, "jobs") if job.get("conclusion") == "failure"),
                None)


def failed_step(job: dict[str, Any]) -> str | None:
    steps = items(job.get("steps"))
    return next((str(s.get("name")) for s in steps if s.get("conclusion") == "failure"), None)


def log_tail(outputs: list[Any], lines: int = 3) -> list[str]:
    """The last meaningful lines of a job log (errors first)."""
    text = ""
    for data in outputs:
        if isinstance(data, str):
            text = data
        elif isinstance(data, dict):
            found = data.get("log") or data.get("tail") or data.get("lines") or ""
            text = "\n".join(map(str, found)) if isinstance(found, list) else str(found)
    rows = [row.strip() for row in text.splitlines() if row.strip()]
    errors = [row for row in rows if re.search(r"Error\b|^E\s|FAILED", row)]
    return (errors or rows)[-lines:]


INCIDENT_LABELS = frozenset({"incident", "bug", "sev1", "sev2", "outage"})


def is_incident(issue: dict[str, Any]) -> bool:
    labels = {str(label).lower() for label in issue.get("labels") or []}
    return bool(labels & INCIDENT_LABELS)


def related_issue(outputs: list[Any]) -> dict[str, Any] | None:
    """The open issue (not a pull request) labelled as an incident or bug, if any."""
    for issue in every(outputs, "issues", "items"):
        is_pull = issue.get("is_pull_request") or issue.get("pull_request")
        if issue.get("state") == "open" and not is_pull and is_incident(issue) \
                and isinstance(issue.get("number"), int):
            return issue
    return None


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), tz=UTC)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def series(outputs: list[Any]) -> list[tuple[datetime, float]]:
    """(time, value) points of the first series of a range query's matrix."""
    for data in outputs:
        for sample in items(data, "result"):
            points = []
            for pair in sample.get("values") or []:
                at = parse_time(pair[0]) if isinstance(pair, list) and len(pair) == 2 else None
                try:
                    value = float(pair[1])
                except (TypeError, ValueError, IndexError):
                    continue
                if at is not None:
                    points.append((at, value))
            if points:
                return points
    return []


def jump(outputs: list[Any], query: str | None = None) -> datetime | None:
    """When a series first rose well above its earlier level (None: no jump)."""
    points = series(outputs)
    for index in range(3, len(points)):
        before = statistics.median(v for _, v in points[:index])
        if before > 0 and points[index][1] > JUMP_FACTOR * before:
            return points[index][0]
    return None


def level(outputs: list[Any]) -> tuple[float, float] | None:
    """(first, last) values of the first series of a range query."""
    points = series(outputs)
    return (points[0][1], points[-1][1]) if points else None


def last_commit_before(outputs: list[Any], moment: datetime) -> dict[str, Any] | None:
    before = [c for c in every(outputs, "commits")
              if (t := parse_time(c.get("date"))) is not None and t <= moment]
    return max(before, key=lambda c: str(c.get("date")), default=None)


def alerts(outputs: list[Any]) -> list[dict[str, Any]]:
    found = []
    for alert in every(outputs, "alerts"):
        labels = alert.get("labels") or {}
        raw_status = alert.get("status")
        status: dict[str, Any] = raw_status if isinstance(raw_status, dict) else {}
        found.append({
            "name": labels.get("alertname", "alert"), "service": labels.get("service"),
            "severity": labels.get("severity"),
            "state": alert.get("state") or status.get("state"),
            "since": alert.get("activeAt") or alert.get("starts_at") or alert.get("startsAt"),
            "url": alert.get("url") or alert.get("generatorURL") or alert.get("generator_url"),
        })
    return found
