"""What the offline provider concludes from evidence, and how it says it.

Picking (`find`) is separated from wording (`answer`, `comment_action`) so each rule is
easy to read and test. Evidence is untrusted tool output: text is escaped for Slack mrkdwn,
links are only made from http(s) URLs, shas are reduced to hex.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from triage_contracts.messages import Evidence, ProposedAction

from .base import action_summary

DEFAULT_SOURCES = ("GitHub CI runs", "GitHub commits", "GitHub issues", "Prometheus metrics")
_SAFE_URL = re.compile(r"^https?://[^\s|<>]+$")


@dataclass(frozen=True)
class Findings:
    failing: Evidence | None = None
    suspect: Evidence | None = None
    # True when the suspect commit is the one the failing CI run built.
    suspect_matches: bool = False
    metric: Evidence | None = None
    related: Evidence | None = None
    others: list[Evidence] = field(default_factory=list)
    # Newest first; listed when nothing failed ("what changed?" questions).
    commits: list[Evidence] = field(default_factory=list)
    latest_run: Evidence | None = None

    @property
    def empty(self) -> bool:
        return not (self.failing or self.suspect or self.metric or self.related)


def find(evidence: list[Evidence]) -> Findings:
    failing = next((e for e in evidence if e.source == "github.workflow_run"
                    and _attr(e, "conclusion") == "failure"), None)
    commits = [e for e in evidence if e.source == "github.commit"]
    head = _sha(_attr(failing, "head_sha")) if failing else ""
    matching = next((c for c in commits if head and _same_sha(_sha(_attr(c, "sha")), head)), None)
    # max() keeps the first of equal dates, so the order of the evidence breaks ties.
    recent = max(commits, key=lambda c: str(_attr(c, "date") or ""), default=None)
    related = next((e for e in evidence if e.source == "github.issue"
                    and _attr(e, "state") == "open" and not _attr(e, "is_pull_request")), None)
    metric = next((e for e in evidence if e.source == "prometheus.query"), None)
    used = {id(x) for x in (failing, matching or recent, metric, related) if x is not None}
    runs = [e for e in evidence if e.source == "github.workflow_run"]
    return Findings(failing=failing, suspect=matching or recent, suspect_matches=bool(matching),
                    metric=metric, related=related,
                    others=[e for e in evidence if id(e) not in used],
                    commits=sorted(commits, key=lambda c: str(_attr(c, "date") or ""),
                                   reverse=True),
                    latest_run=runs[0] if runs else None)


def answer(question: str, f: Findings, sources: list[str]) -> str:
    lines = [f"*Triage:* {_esc(_shorten(question))}"]
    if f.empty and not f.others:
        asked = ", ".join(_esc(s) for s in sources) or ", ".join(DEFAULT_SOURCES)
        lines.append("I found no evidence in the connected sources for this question "
                     f"(sources asked: {asked}). Try naming the service or repository, or "
                     "check that those connectors are configured.")
        return "\n".join(lines)
    if f.failing:
        lines.append(f"• *CI:* {_link(f.failing.url, _esc(_run_label(f.failing)))} failed"
                     + _on_sha(f.failing))
    if f.suspect:
        label = "Suspect change" if f.suspect_matches else "Most recent change"
        lines.append(f"• *{label}:* {_commit(f.suspect)}")
    if not f.failing and len(f.commits) > 1:
        lines += [f"   ◦ {_commit(c)}" for c in f.commits[1:5]]
    if not f.failing and f.latest_run:
        conclusion = _esc(str(_attr(f.latest_run, "conclusion") or "in progress"))
        lines.append(f"• *CI:* latest {_link(f.latest_run.url, _esc(_run_label(f.latest_run)))}"
                     f" {conclusion}" + _on_sha(f.latest_run))
    if f.metric:
        lines.append(f"• *Metric:* {_link(f.metric.url, _esc(f.metric.title))} is "
                     f"{_metric_value(f.metric)}")
    if f.related:
        lines.append(f"• *Related:* {_link(f.related.url, _esc(_issue_ref(f.related)))} "
                     f"{_esc(f.related.title)}")
    if f.empty:
        lines += [f"• *Evidence:* {_link(e.url, _esc(e.title))}" for e in f.others[:3]]
    lines.append(f"*Likely cause:* {_cause(f)}")
    return "\n".join(lines)


def comment_action(f: Findings) -> ProposedAction | None:
    """Propose a comment on the related open issue, only when a failing CI run explains it."""
    if not (f.failing and f.related):
        return None
    repo, number = _attr(f.related, "repo"), _attr(f.related, "number")
    if not isinstance(repo, str) or not isinstance(number, int) or isinstance(number, bool):
        return None
    body = [f"Triage summary: {_md_link(f.failing.url, _run_label(f.failing))} failed"
            + _on_sha(f.failing) + "."]
    if f.suspect:
        sha = _sha(_attr(f.suspect, "sha"))[:7]
        verdict = "Likely cause" if f.suspect_matches else "Most recent change"
        body.append(f"{verdict}: {_md_link(f.suspect.url, f'`{sha}`')} "
                    f"{_first_line(f.suspect.title)}" + _by(f.suspect) + ".")
    if f.metric:
        body.append(f"{f.metric.title} is {_metric_value(f.metric)}.")
    arguments: dict[str, Any] = {"repo": repo, "issue_number": number, "body": "\n".join(body)}
    return ProposedAction(tool="github.comment_issue", arguments=arguments,
                          summary=action_summary("github.comment_issue", arguments))


def _cause(f: Findings) -> str:
    sha = f"`{_sha(_attr(f.suspect, 'sha'))[:7]}`" if f.suspect else ""
    if f.failing and f.suspect_matches:
        return f"{sha} — the failures start with this commit. Consider reverting it."
    if f.failing and f.suspect:
        return (f"not certain — {_esc(_run_label(f.failing))} failed, but none of the commits "
                f"found is the one it built; start with the most recent change {sha}.")
    if f.failing:
        return (f"not certain — {_esc(_run_label(f.failing))} failed, but no commit evidence "
                "was found.")
    return "not determined — no failing CI run was found; see the evidence above."


def _commit(e: Evidence) -> str:
    sha = _sha(_attr(e, "sha"))[:7]
    return f"{_link(e.url, f'`{sha}`')} {_esc(_first_line(e.title))}{_esc(_by(e))}"


def _run_label(e: Evidence) -> str:
    name, number = _attr(e, "name"), _attr(e, "run_number")
    return f"{name} #{number}" if name and number is not None else e.title


def _issue_ref(e: Evidence) -> str:
    return f"{_attr(e, 'repo') or ''}#{_attr(e, 'number')}"


def _on_sha(e: Evidence) -> str:
    sha = _sha(_attr(e, "head_sha"))[:7]
    return f" on `{sha}`" if sha else ""


def _by(e: Evidence) -> str:
    author = _attr(e, "author")
    return f" ({author})" if author else ""


def _metric_value(e: Evidence) -> str:
    raw = _attr(e, "value")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return "unknown (no sample)"
    if "ratio" in e.title.lower() or _attr(e, "unit") == "ratio":
        return f"{value * 100:.1f}%"
    return f"{value:.4g}"


def _attr(e: Evidence | None, key: str) -> Any:
    return e.attributes.get(key) if e is not None else None


def _sha(value: Any) -> str:
    return re.sub(r"[^0-9a-fA-F]", "", str(value or "")).lower()


def _same_sha(a: str, b: str) -> bool:
    # Tools may report abbreviated shas; a 7+ character prefix identifies a commit.
    if not (a and b):
        return False
    return a == b or (min(len(a), len(b)) >= 7 and (a.startswith(b) or b.startswith(a)))


def _shorten(question: str, limit: int = 300) -> str:
    """The question is echoed as a title, not repeated whole (people paste whole logs)."""
    flat = " ".join(question.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _esc(text: str) -> str:
    """Slack mrkdwn control characters; keeps tool output from forging links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str | None, text: str) -> str:
    return f"<{url}|{text}>" if url and _SAFE_URL.match(url) else text


def _md_link(url: str | None, text: str) -> str:
    return f"[{text}]({url})" if url and _SAFE_URL.match(url) else text
