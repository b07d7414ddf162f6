"""The offline rules' answer: the facts that came back, each with the link it came with.

It never states more than the tool outputs say (no diagnosis beyond "CI has failed since
this commit"), cites only links found in them, and says that rules wrote it and what could
not be checked. Plain Markdown-ish text: the orchestrator grounds and escapes it.
"""

import re
from collections.abc import Callable
from typing import Any

from . import facts
from .plan import intents, write_request
from .read import Conversation

_SERVICE = re.compile(r'service="([^"]+)"')
HONEST = "_Offline rules (no model configured): the facts the tools returned, not a diagnosis._"


def _link(item: dict[str, Any], label: str) -> str:
    """A Markdown link to the item's own URL (the orchestrator turns it into a Slack link
    only because the URL was fetched)."""
    url = item.get("url")
    if not (isinstance(url, str) and url.startswith("http")):
        return label
    return f"[{label.replace('[', '(').replace(']', ')')}]({url})"


def _first_line(value: Any, limit: int = 80) -> str:
    text = str(value or "").strip().splitlines()
    first = text[0] if text else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"


def _ci(c: Conversation) -> list[str]:
    runs = facts.every(c.data("github.workflow_runs"), "workflow_runs", "runs")
    if not runs:
        return []
    first = facts.first_failing_run(c.data("github.workflow_runs"))
    if first is None:
        latest = runs[0]
        return [_link(latest, f"CI is green: {latest.get('name', 'CI')} "
                              f"#{latest.get('run_number', '?')} {latest.get('conclusion')}")]
    sha = str(first.get("head_sha") or "")[:7]
    commit = next((x for x in facts.every(c.data("github.recent_commits"), "commits")
                   if str(x.get("sha", "")).startswith(sha)), None) if sha else None
    lines = [f"CI has failed since {_link(first, f'run #{first.get("run_number", "?")}')} "
             f"on commit {sha}"]
    if commit is not None:
        lines.append(f"that commit: {_link(commit, _first_line(commit.get('message')))} by "
                     f"{commit.get('author', '?')}")
    for pull in facts.every(c.data("github.commit_pulls"), "pulls", "pull_requests")[:1]:
        lines.append(f"it came with {_link(pull, f'PR #{pull.get("number")}')} "
                     f"“{_first_line(pull.get('title'))}”")
    job = facts.failed_job(c.data("github.workflow_jobs"))
    if job is not None:
        step = facts.failed_step(job)
        lines.append(f"failed job {_link(job, str(job.get('name')))}"
                     + (f", step `{step}`" if step else ""))
    tail = facts.log_tail(c.data("github.job_log"))
    if tail:
        lines.append("log: " + " / ".join(f"`{row[:160]}`" for row in tail))
    queued = next((o for o in c.outputs if o.tool == "github.comment_issue"), None)
    if queued is not None:
        lines.append(f"I proposed a comment on #{queued.arguments.get('issue_number')} "
                     "summarising this; it awaits a human approval.")
    return lines


def _metrics(c: Conversation) -> list[str]:
    lines = []
    for output in c.outputs:
        if output.tool != "prometheus.query_range" or output.status == "error":
            continue
        level = facts.level([output.data])
        jump = facts.jump([output.data])
        if level is None:
            continue
        query = str(output.arguments.get("query"))
        latency = "duration" in query
        shown = [f"{v:.3g}s" if latency else f"{v:.1%}" for v in level]
        change = f", jumped at {jump.strftime('%Y-%m-%d %H:%M UTC')}" if jump else ""
        service = _SERVICE.search(query)
        of = f" of {service.group(1)}" if service else ""
        lines.append(f"{'p99 latency' if latency else '5xx ratio'}{of}: {shown[0]} → "
                     f"{shown[1]} over {output.arguments.get('range', 'the range')}{change}")
    return lines


def _alerts(c: Conversation) -> list[str]:
    seen, lines = set(), []
    outputs = c.data("prometheus.alerts") + c.data("alertmanager.alerts")
    service = c.service(c.repo) if c.repo else None
    every = facts.alerts(outputs)
    named = {a["name"] for a in every if str(a["name"]).lower() in c.question.lower()}
    for alert in every:
        key = (alert["name"], alert["service"])
        if key in seen or (service and alert["service"] not in (None, service)) \
                or (named and alert["name"] not in named):
            continue  # another service's alert, or not the one asked about
        seen.add(key)
        where = f" for {alert['service']}" if alert["service"] else ""
        lines.append(f"alert {_link(alert, str(alert['name']))}{where}: "
                     f"{alert['state'] or '?'} since {alert['since'] or '?'}")
    return lines or (["no alerts are firing"] if outputs else [])


def _related(c: Conversation) -> list[str]:
    """For an incident: the open issues labelled as incidents, bugs or sev*."""
    return _issues(c, related_only=True)


def _issues(c: Conversation, related_only: bool = False) -> list[str]:
    found = facts.every(c.data("github.list_issues") + c.data("github.search_issues"),
                        "issues", "items")
    unique = [i for i in {str(i.get("url") or i.get("number")): i for i in found}.values()
              if not (i.get("is_pull_request") or i.get("pull_request"))
              and (not related_only or facts.is_incident(i))]
    lines = [f"{_link(i, f'#{i.get("number")}')} “{_first_line(i.get('title'))}” "
             f"({i.get('state')}" + (f", {', '.join(map(str, i['labels']))}"
                                    if i.get("labels") else "") + ")" for i in unique[:10]]
    if not lines and c.data("github.list_issues") and not related_only:
        return ["no matching issues"]
    return lines


def _changes(c: Conversation) -> list[str]:
    commits = facts.every(c.data("github.recent_commits"), "commits")
    lines = [f"{_link(x, str(x.get('sha', ''))[:7])} “{_first_line(x.get('message'))}” by "
             f"{x.get('author', '?')}, {x.get('date', '?')}" for x in commits[:8]]
    if not lines and c.data("github.recent_commits"):
        return ["no commits in that window"]
    return lines


def _write(c: Conversation) -> list[str]:
    request = write_request(c.question)
    assert request is not None
    if "github.comment_issue" not in c.offered:
        return [f"I cannot comment on #{request[0]}: writing to GitHub is not enabled for "
                "this skill or workspace (an administrator enables github.comment_issue), "
                "so nothing was written."]
    if c.made("github.comment_issue"):
        return [f"I queued a comment on #{request[0]} (“{request[1][:200]}”): it awaits a "
                "human approval and is written only once someone approves it."]
    failed = next((o for o in c.outputs if o.tool == "github.get_issue" and o.status == "error"),
                  None)
    if failed is not None:
        return [f"I could not read #{request[0]} ({failed.error[:160]}), so I did not queue "
                "the comment."]
    return [f"I could not prepare the comment on #{request[0]}: no repository is configured."]


Section = Callable[[Conversation], list[str]]
def _pulls(c: Conversation) -> list[str]:
    """The pull requests that brought a suspect change (latency: the last commit before
    the jump)."""
    return [f"the last change before it came with {_link(p, f'PR #{p.get("number")}')} "
            f"“{_first_line(p.get('title'))}”" + (f", merged {p['merged_at']}"
                                                  if p.get("merged_at") else "")
            for p in facts.every(c.data("github.commit_pulls"), "pulls")[:2]]


SECTIONS: dict[str, list[Section]] = {
    "incident": [_alerts, _ci, _metrics, _related], "latency": [_metrics, _pulls, _changes],
    "changes": [_changes, _ci], "issues": [_issues], "alerts": [_alerts, _metrics],
    "overview": [_issues, _changes]}


def answer(c: Conversation) -> str:
    body = _write(c) if write_request(c.question) else []
    if not body or "github.comment_issue" not in c.offered:
        for intent in intents(c.question):
            for section in SECTIONS[intent]:
                body += [line for line in section(c) if line not in body]
    failed = [f"{o.tool} ({o.error[:120]})" for o in c.outputs if o.status == "error"]
    if not body:
        body = ["I found nothing that answers this with the tools I could use."]
    if c.context.get("not_configured"):
        body.append(f"Not configured here, so not checked: "
                    f"{', '.join(map(str, c.context['not_configured']))}.")
    if failed:
        body.append("Could not check: " + "; ".join(failed[:4]) + ".")
    return "\n".join([*(f"• {line}" for line in body), HONEST])
