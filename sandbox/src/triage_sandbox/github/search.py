"""GitHub's issue-search query language, as far as the stand-in needs it: free text (title,
body and comments, case-insensitive) and the qualifiers repo:, org:/user:, is:/state:/
type: (open, closed, issue, pr, merged, unmerged), label: (commas mean any of), no:label,
author:, and created:/updated:/closed:/merged: with >, >=, <, <=, a..b ranges and dates or
times. A leading "-" negates a qualifier; terms are ANDed. Pure functions."""

import shlex
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ..world.model import Comment, Issue, PullRequest, Repo

DAY = timedelta(days=1)


def terms_of(query: str) -> list[str]:
    try:
        return shlex.split(query)
    except ValueError:  # an unbalanced quote: GitHub searches the words anyway
        return query.split()


def _moment(text: str) -> tuple[datetime, bool] | None:
    """The time a date qualifier names, and whether it is a whole day."""
    try:
        value = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return value, len(text) == 10


def _in_range(value: datetime | None, spec: str) -> bool:
    if value is None:
        return False
    if ".." in spec:
        low, _, high = spec.partition("..")
        return ((low == "*" or _in_range(value, ">=" + low))
                and (high == "*" or _in_range(value, "<=" + high)))
    op = next((o for o in (">=", "<=", ">", "<") if spec.startswith(o)), "")
    moment = _moment(spec[len(op):])
    if moment is None:
        return False
    at, whole_day = moment
    end = at + DAY if whole_day else at
    checks: dict[str, Callable[[], bool]] = {
        ">=": lambda: value >= at, ">": lambda: value >= end if whole_day else value > at,
        "<": lambda: value < at, "<=": lambda: value < end if whole_day else value <= at,
        "": lambda: at <= value < end if whole_day else value == at,
    }
    return checks[op]()


def _is(value: str, issue: Issue, pull: PullRequest | None) -> bool | None:
    merged = pull is not None and pull.merged_at is not None
    known = {"open": issue.state == "open", "closed": issue.state == "closed",
             "pr": issue.is_pull_request, "pull-request": issue.is_pull_request,
             "issue": not issue.is_pull_request, "merged": merged,
             "unmerged": issue.is_pull_request and not merged}
    return known.get(value)


def _qualifier(key: str, value: str, repo: Repo, issue: Issue,
               pull: PullRequest | None) -> bool | None:
    """Whether a `key:value` qualifier holds; None: not a qualifier, so free text."""
    dates = {"created": issue.created_at, "updated": issue.updated_at,
             "closed": issue.closed_at, "merged": pull.merged_at if pull else None}
    if key == "repo" and value:
        return value == repo.full_name.lower()
    if key in ("org", "user", "owner") and value:
        return value == repo.owner.lower()
    if key in ("is", "state", "type"):
        return _is(value, issue, pull)
    if key == "label" and value:
        return bool(set(value.split(",")) & {n.lower() for n in issue.labels})
    if key == "no" and value == "label":
        return not issue.labels
    if key == "author" and value:
        return issue.author.login.lower() == value
    if key in dates and value:
        return _in_range(dates[key], value)
    return None


def matches(repo: Repo, issue: Issue, comments: list[Comment], terms: list[str]) -> bool:
    pull = repo.pulls.get(issue.number)
    text = " ".join([issue.title, issue.body, *(c.body for c in comments)]).lower()
    for term in terms:
        negated = term.startswith("-") and ":" in term
        key, _, value = term.removeprefix("-").partition(":") if negated else \
            term.partition(":")
        held = _qualifier(key.lower(), value.lower(), repo, issue, pull) if value else None
        if held is None:
            held = term.lower() in text
        if held == negated:
            return False
    return True
