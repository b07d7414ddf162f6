"""Turning tool results into Evidence: short, typed facts with their links, for the reply's
sources, the approver's page and an answer composed without a model.

Tool output is UNTRUSTED (titles and commit messages are written by anyone): texts are
redacted and cut, and evidence is only ever shown as data (escaped before Slack), never
used as an instruction. GitHub-shaped output is read generically (any object with a web
link is a fact), so a new GitHub tool yields evidence without code here.
"""

import math
from collections.abc import Iterator
from typing import Any

from triage_contracts.messages import Evidence, ToolResult, ToolStatus
from triage_contracts.redact import redact_text

MAX_ITEMS_PER_TOOL = 20
MAX_TEXT = 300
MAX_EVIDENCE = 60
TITLE_KEYS = ("title", "name", "message", "filename", "path", "alertname")
SHA_KEYS = ("sha", "head_sha", "merge_commit_sha")


def text(value: Any, limit: int = MAX_TEXT) -> str:
    cut = redact_text(str(value if value is not None else ""))
    return cut if len(cut) <= limit else cut[: limit - 1] + "…"


def _url(item: dict[str, Any]) -> str | None:
    for key in ("html_url", "url", "generatorURL", "generator_url"):
        value = item.get(key)
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return text(value, 2000)
    return None


def _title(item: dict[str, Any]) -> str:
    for key in TITLE_KEYS:
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return text(value.strip().splitlines()[0])
    labels = item.get("labels")
    if isinstance(labels, dict) and labels.get("alertname"):
        return text(labels["alertname"])
    return "(untitled)"


def _facts(item: dict[str, Any], repo: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for key in SHA_KEYS:
        if isinstance(item.get(key), str):
            facts[key] = item[key]
    for key in ("number", "state", "conclusion", "status", "run_number", "author", "date",
                "created_at", "merged_at", "starts_at", "startsAt", "activeAt"):
        value = item.get(key)
        if isinstance(value, str | int | float | bool) and value != "":
            facts[key] = text(value, 80) if isinstance(value, str) else value
    if isinstance(repo, str):
        facts["repo"] = repo
    return facts


def _linked(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every object in `data` that carries a web link (depth-first, outer first)."""
    if depth > 4:
        return
    if isinstance(data, dict):
        if _url(data):
            yield data
        for value in data.values():
            yield from _linked(value, depth + 1)
    elif isinstance(data, list):
        for value in data:
            yield from _linked(value, depth + 1)


def _github(result: ToolResult, args: dict[str, Any]) -> list[Evidence]:
    found = []
    for item in list(_linked(result.data))[:MAX_ITEMS_PER_TOOL]:
        facts = _facts(item, args.get("repo"))
        detail = ", ".join(f"{k} {v}" for k, v in facts.items() if k not in ("repo",))
        found.append(Evidence(source=result.tool, title=_title(item), url=_url(item),
                              detail=text(detail), attributes=facts))
    return found


def _samples(data: Any) -> list[dict[str, Any]]:
    result = data.get("result") if isinstance(data, dict) else None
    return [s for s in result if isinstance(s, dict)] if isinstance(result, list) else []


def _value(sample: dict[str, Any]) -> float | None:
    pair = sample.get("value") or (sample.get("values") or [None])[-1]
    try:
        value = float(pair[1]) if isinstance(pair, list) and len(pair) == 2 else math.nan
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _prometheus(result: ToolResult, args: dict[str, Any]) -> list[Evidence]:
    found = []
    for sample in _samples(result.data)[:5]:
        value = _value(sample)
        labels = sample.get("metric") or {}
        shown = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__")
        found.append(Evidence(
            source=result.tool, title=text(f"{args.get('query', '')}"[:120]),
            detail=text(f"{'no value' if value is None else f'{value:.4g}'} {{{shown}}}"),
            attributes={"value": value, "labels": {k: text(v, 80) for k, v in labels.items()},
                        "query": text(args.get("query"), 1000)}))
    return found


def _alerts(result: ToolResult) -> list[Evidence]:
    data = result.data
    items = data.get("alerts") if isinstance(data, dict) else data
    found = []
    for alert in (items if isinstance(items, list) else [])[:MAX_ITEMS_PER_TOOL]:
        if not isinstance(alert, dict):
            continue
        labels = alert.get("labels") or {}
        since = alert.get("activeAt") or alert.get("starts_at") or alert.get("startsAt")
        state = alert.get("state") or (alert.get("status") or {}).get("state")
        found.append(Evidence(
            source=result.tool, title=text(labels.get("alertname", "alert")), url=_url(alert),
            detail=text(f"{state or '?'} since {since or '?'}; {labels}"),
            attributes={"state": state, "since": since,
                        "labels": {k: text(v, 80) for k, v in labels.items()}}))
    return found


def from_result(result: ToolResult, args: dict[str, Any]) -> tuple[list[Evidence], list[str]]:
    """(evidence, notes) for one tool result; a shape we cannot read is a note, not a crash."""
    if result.status is not ToolStatus.SUCCESS or not result.data:
        return [], []
    try:
        if result.tool.endswith(".alerts"):
            return _alerts(result), []
        if result.tool.startswith("prometheus."):
            return _prometheus(result, args), []
        return _github(result, args), []
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        return [], [f"{result.tool} returned data in an unexpected shape: {text(exc, 120)}"]


def merge(known: list[Evidence], new: list[Evidence]) -> list[Evidence]:
    """Append what is new (by link, else by source and title), keeping the first seen."""
    seen = {(e.url or f"{e.source}:{e.title}:{e.detail}") for e in known}
    merged = list(known)
    for item in new:
        key = item.url or f"{item.source}:{item.title}:{item.detail}"
        if key not in seen and len(merged) < MAX_EVIDENCE:
            seen.add(key)
            merged.append(item)
    return merged
