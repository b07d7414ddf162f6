"""Which tools the offline rules ask for next. Pure and deterministic.

The question's words pick intents (an explicit write request, alerts, a failure, a latency
regression, recent changes, issues); each intent asks for its first calls, then follows
what came back (a red CI run -> its jobs -> the failed job's log; the first failing commit
-> the pull request that brought it; a latency jump -> the commits just before it). A call
already made is never asked again; when nothing is left to ask, the rules answer.
"""

import re
from datetime import datetime, timedelta
from typing import Any

from . import facts
from .read import Conversation

Call = tuple[str, dict[str, Any]]
MAX_CALLS_PER_TURN = 6
INTENTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("alerts", re.compile(r"\b(alerts?|alerting|firing|pag(ed|ing|er))\b", re.I)),
    ("incident", re.compile(r"\b(fail\w*|broke|broken|red|errors?|5\d\ds?|down|outage)\b"
                            r"|why is", re.I)),
    ("latency", re.compile(r"\b(latency|slow\w*|p9\d|regression)\b", re.I)),
    ("changes", re.compile(r"what changed|\b(changes?|deploy\w*|merged|shipped|"
                           r"yesterday|today|recent\w*)\b", re.I)),
    ("issues", re.compile(r"\b(sev ?\d|issues?|tickets?|bugs?)\b", re.I)),
)
_WRITE = re.compile(r"\bcomment\b.*?(?:#|issue\s*#?|pr\s*#?)\s*(\d+)", re.I | re.S)
_QUOTED = re.compile(r"(?:saying|with|:)\s*[\"'“‘](.+?)[\"'”’]", re.S)
_SEV = re.compile(r"\bsev ?(\d)\b", re.I)
_WORD = re.compile(r"[a-z][a-z0-9_-]{3,}")
_STOP = frozenset("what which when where there their about with from this that have been "
                  "does into since please could would should tell know".split())


def intents(question: str) -> list[str]:
    found = [name for name, pattern in INTENTS if pattern.search(question)]
    return found or ["overview"]


def write_request(question: str) -> tuple[int, str] | None:
    """(issue number, body) when the question asks to comment on an issue."""
    target, body = _WRITE.search(question), _QUOTED.search(question)
    if target is None or body is None:
        return None
    return int(target.group(1)), body.group(1).strip()


def next_calls(c: Conversation) -> list[Call]:
    if write_request(c.question) and "github.comment_issue" in c.offered:
        return _write(c)
    planned: list[Call] = []
    for intent in intents(c.question):
        planned += PLANNERS[intent](c)
    fresh = [(tool, args) for tool, args in planned
             if tool in c.offered and not c.made(tool, **args)]
    unique = list({repr(call): call for call in fresh}.values())
    return unique[:MAX_CALLS_PER_TURN]


def _write(c: Conversation) -> list[Call]:
    """Read the issue first (it must exist), then queue the comment for approval."""
    request = write_request(c.question)
    assert request is not None
    repo = facts.named_repo(c.question, c.repos) or c.repo
    if repo is None or "github.comment_issue" not in c.offered or c.made("github.comment_issue"):
        return []
    read = ("github.get_issue", {"repo": repo, "number": request[0], "comments": 0})
    if read[0] in c.offered and not c.made(read[0]):
        return [read]
    if read[0] in c.offered and not c.data(read[0]):
        return []  # the issue could not be read: say so rather than write to it
    return [("github.comment_issue", {"repo": repo, "issue_number": request[0],
                                      "body": request[1]})]


def _now(c: Conversation) -> datetime:
    try:
        return datetime.fromisoformat(str(c.context.get("now")))
    except ValueError:
        return datetime.fromisoformat("2000-01-01T00:00:00+00:00")


def error_ratio(service: str) -> str:
    return (f'sum(rate(http_requests_total{{service="{service}",code=~"5.."}}[5m])) / '
            f'sum(rate(http_requests_total{{service="{service}"}}[5m]))')


def _incident(c: Conversation) -> list[Call]:
    repo = c.repo
    if repo is None and c.context.get("not_configured"):
        return []  # about a repository this workspace does not serve: nothing to look at
    calls: list[Call] = [("prometheus.alerts", {"state": "all"})]
    if repo is None:
        return calls
    service = c.service(repo) or repo
    calls += [("github.workflow_runs", {"repo": repo, "limit": 10}),
              ("github.recent_commits", {"repo": repo, "limit": 10}),
              ("github.list_issues", {"repo": repo, "state": "open", "limit": 10}),
              ("prometheus.query_range", {"query": error_ratio(service), "range": "12h",
                                          "step": "10m"})]
    run = facts.first_failing_run(c.data("github.workflow_runs"))
    if run is not None:
        calls.append(("github.workflow_jobs", {"repo": repo, "run_id": run["id"]}))
        if run.get("head_sha"):
            calls.append(("github.commit_pulls", {"repo": repo, "sha": run["head_sha"]}))
    job = facts.failed_job(c.data("github.workflow_jobs"))
    if job is not None:
        calls.append(("github.job_log", {"repo": repo, "job_id": job["id"], "tail_lines": 40}))
    jobs_read = c.made("github.workflow_jobs")
    pulls_read = c.made("github.commit_pulls") or not run or not run.get("head_sha")
    if run is not None and jobs_read and pulls_read and (job is None or c.data("github.job_log")):
        calls += _summary_comment(c, repo, run)
    return calls


def _summary_comment(c: Conversation, repo: str, run: dict[str, Any]) -> list[Call]:
    """Once the cause is clear (CI broke on a commit), one comment on the related open
    issue summarising it, for a human to approve."""
    issue = facts.related_issue(c.data("github.list_issues"))
    if issue is None or c.made("github.comment_issue"):
        return []
    lines = [f"Triage: CI has failed since run #{run.get('run_number')} ({run.get('url')}) "
             f"on commit {str(run.get('head_sha'))[:7]}."]
    pull = next(iter(facts.every(c.data("github.commit_pulls"), "pulls")), None)
    if pull is not None:
        lines.append(f"It came with PR #{pull.get('number')} ({pull.get('url')}).")
    tail = facts.log_tail(c.data("github.job_log"), lines=1)
    if tail:
        lines.append(f"Failing test output: `{tail[-1][:200]}`")
    return [("github.comment_issue", {"repo": repo, "issue_number": issue["number"],
                                      "body": " ".join(lines)})]


def p99(service: str | None) -> str:
    return f'service:http_request_duration_seconds:p99{{service="{service}"}}'


def _latency(c: Conversation) -> list[Call]:
    """p99 of the named service (of every service when none is named); where it jumped,
    the commits just before, then the pull request of the last one."""
    calls: list[Call] = [("prometheus.query_range", {"query": p99(c.service(repo)),
                                                     "range": "48h", "step": "30m"})
                         for repo in ([c.repo] if c.repo else c.repos)]
    for repo in [c.repo] if c.repo else c.repos:
        calls += _after_jump(c, repo)
    return calls


def _after_jump(c: Conversation, repo: str) -> list[Call]:
    outputs = [o.data for o in c.outputs if o.tool == "prometheus.query_range"
               and o.arguments.get("query") == p99(c.service(repo))]
    jump = facts.jump(outputs)
    calls: list[Call] = []
    if jump is not None:
        since = (jump - timedelta(hours=3)).isoformat()
        calls.append(("github.recent_commits", {"repo": repo, "since": since,
                                                "until": jump.isoformat(), "limit": 10}))
        listed = [o.data for o in c.outputs if o.tool == "github.recent_commits"
                  and o.arguments.get("repo") == repo]
        commit = facts.last_commit_before(listed, jump)
        if commit is not None:
            calls.append(("github.commit_pulls", {"repo": repo, "sha": commit["sha"]}))
    return calls


def _changes(c: Conversation) -> list[Call]:
    since = (_now(c) - timedelta(hours=24)).replace(microsecond=0).isoformat()
    calls: list[Call] = []
    for repo in ([c.repo] if c.repo else c.repos):
        calls += [("github.recent_commits", {"repo": repo, "since": since, "limit": 20}),
                  ("github.workflow_runs", {"repo": repo, "limit": 5})]
    return calls


def _issues(c: Conversation) -> list[Call]:
    sev = _SEV.search(c.question)
    labels = [f"sev{sev.group(1)}"] if sev else []
    if re.search(r"\bbugs?\b", c.question, re.I):
        labels.append("bug")
    state = "all" if re.search(r"\b(closed|all)\b", c.question, re.I) else "open"
    return [("github.list_issues", {"repo": repo, "state": state, "labels": labels,
                                    "limit": 20})
            for repo in ([c.repo] if c.repo and not labels else c.repos)]


def _alerts(c: Conversation) -> list[Call]:
    return [("prometheus.alerts", {"state": "all"}), ("alertmanager.alerts", {})]


def _overview(c: Conversation) -> list[Call]:
    words = [w for w in _WORD.findall(c.question.lower()) if w not in _STOP][:3]
    calls: list[Call] = []
    for repo in ([c.repo] if c.repo else c.repos)[:2]:
        calls += [("github.search_issues", {"repo": repo, "query": " ".join(words),
                                            "state": "all", "limit": 10}),
                  ("github.recent_commits", {"repo": repo, "limit": 5})]
    return calls


PLANNERS = {"incident": _incident, "latency": _latency, "changes": _changes,
            "issues": _issues, "alerts": _alerts, "overview": _overview}
