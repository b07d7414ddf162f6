"""Turning tool results into Evidence: short, typed facts a model or a rule can use.

Tool output is UNTRUSTED (issue titles, commit messages are written by anyone): it is
truncated, redacted, and only ever placed in the evidence list, never in instructions.
A failed tool becomes a note the reply mentions instead of silently missing evidence.
"""

import math
from collections.abc import Callable
from typing import Any

from triage_contracts.messages import Evidence, ToolResult, ToolStatus
from triage_contracts.redact import redact_text

MAX_ITEMS_PER_TOOL = 10
MAX_TEXT = 300


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    text = redact_text(str(value if value is not None else ""))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _url(value: Any) -> str | None:
    return _text(value, 2000) if isinstance(value, str) and value.startswith("http") else None


def _workflow_run(item: dict[str, Any], _: dict[str, Any], __: str) -> Evidence:
    conclusion = item.get("conclusion")
    verdict = {"failure": "failed", "success": "passed"}.get(
        str(conclusion), str(conclusion or item.get("status") or "unknown"))
    sha = str(item.get("head_sha") or "")
    return Evidence(
        source="github.workflow_run",
        title=_text(f"{item.get('name', 'workflow')} #{item.get('run_number', '?')} {verdict}"),
        url=_url(item.get("url")),
        detail=_text(f"{item.get('head_branch', '')} @ {sha[:7]}, {item.get('created_at', '')}"),
        attributes={"conclusion": conclusion, "head_sha": sha,
                    "run_number": item.get("run_number"), "name": _text(item.get("name"))},
    )


def _commit(item: dict[str, Any], _: dict[str, Any], __: str) -> Evidence:
    message = str(item.get("message") or "")
    return Evidence(
        source="github.commit",
        title=_text(message.splitlines()[0] if message else "(no message)"),
        url=_url(item.get("url")),
        attributes={"sha": str(item.get("sha") or ""), "author": _text(item.get("author")),
                    "date": str(item.get("date") or "")},
    )


def _issue(item: dict[str, Any], args: dict[str, Any], _: str) -> Evidence:
    kind = "PR" if item.get("is_pull_request") else "issue"
    return Evidence(
        source="github.issue",
        title=_text(item.get("title")),
        url=_url(item.get("url")),
        detail=_text(f"{kind} #{item.get('number')} ({item.get('state')}) "
                     f"by {item.get('author', '?')}, updated {item.get('updated_at', '?')}"),
        attributes={"number": item.get("number"), "state": item.get("state"),
                    "repo": args.get("repo"), "is_pull_request": bool(item.get("is_pull_request"))},
    )


LIST_TOOLS: dict[str, Callable[[dict[str, Any], dict[str, Any], str], Evidence]] = {
    "github.workflow_runs": _workflow_run,
    "github.recent_commits": _commit,
    "github.search_issues": _issue,
}


def _prometheus(data: Any, args: dict[str, Any], label: str, service: str | None) -> Evidence:
    sample = data["result"][0]
    value = float(sample["value"][1])
    if not math.isfinite(value):
        raise ValueError(f"the query returned {value} (no traffic?)")
    return Evidence(
        source="prometheus.query",
        title=_text(label),
        detail=_text(f"{value:.4g} {sample.get('metric') or ''}".strip()),
        attributes={"value": value, "query": _text(args.get("query"), 1000), "service": service},
    )


def from_result(
    result: ToolResult, args: dict[str, Any], label: str, service: str | None
) -> tuple[list[Evidence], list[str]]:
    """(evidence, notes) for one tool result."""
    tool = result.tool
    if result.status is ToolStatus.ERROR:
        return [], [f"{tool} failed: {_text(result.error or 'unknown error')}"]
    if result.status is ToolStatus.NO_DATA or not result.data:
        return [], [f"{tool} returned no data"]
    if result.status is not ToolStatus.SUCCESS:
        return [], [f"{tool} answered {result.status.value}"]
    try:
        if tool == "prometheus.query":
            if not result.data.get("result"):
                return [], [f"{tool} returned no samples"]
            return [_prometheus(result.data, args, label, service)], []
        convert = LIST_TOOLS.get(tool)
        if convert is None:
            return [Evidence(source=tool, title=_text(label), detail=_text(result.data))], []
        items = list(result.data)[:MAX_ITEMS_PER_TOOL]
        return [convert(dict(item), args, label) for item in items], []
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        return [], [f"{tool} returned data in an unexpected shape: {_text(exc, 120)}"]
