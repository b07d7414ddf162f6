"""The demo story every sandbox stand-in tells, so that the agent has something real to find.

`demo-org/checkout-api` was healthy until commit X ("Switch payment client to async
retries") landed this morning: CI has failed on it ever since, the checkout error ratio
jumped from ~0.2% to ~7%, and someone opened issue #42 about 502s. `demo-org/payments-api`
is healthy throughout (the control). Times are relative to "now" at start, so the story is
always fresh; the GitHub and Prometheus stand-ins both read this one module so they agree.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from hashlib import sha1

ORG = "demo-org"
CHECKOUT = "checkout-api"
PAYMENTS = "payments-api"
BAD_COMMIT_MESSAGE = "Switch payment client to async retries"
INCIDENT_ISSUE = 42
HEALTHY_ERROR_RATIO = 0.002
BROKEN_ERROR_RATIO = 0.07
PAYMENTS_ERROR_RATIO = 0.001


@dataclass(frozen=True)
class Person:
    login: str
    name: str
    user_id: int

    @property
    def email(self) -> str:
        return f"{self.login}@demo-org.example"


PEOPLE = {
    p.login: p
    for p in (
        Person("alice-dev", "Alice Moreau", 1001),
        Person("bob-sre", "Bob Okafor", 1002),
        Person("chen-payments", "Chen Wei", 1003),
        Person("dana-oncall", "Dana Kowalski", 1004),
        Person("erik-platform", "Erik Lindqvist", 1005),
    )
}


@dataclass(frozen=True)
class Commit:
    sha: str
    message: str
    author: Person
    date: datetime


@dataclass(frozen=True)
class WorkflowRun:
    run_id: int
    run_number: int
    head_sha: str
    head_branch: str
    conclusion: str
    created_at: datetime
    commit_message: str
    run_attempt: int = 1
    name: str = "CI"


@dataclass(frozen=True)
class Issue:
    number: int
    title: str
    body: str
    state: str
    author: Person
    labels: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    is_pull_request: bool = False


@dataclass(frozen=True)
class Comment:
    comment_id: int
    body: str
    author: Person
    created_at: datetime


@dataclass
class Repo:
    name: str
    repo_id: int
    description: str
    commits: list[Commit]  # newest first, as GitHub lists them
    runs: list[WorkflowRun]  # newest first
    issues: list[Issue]
    comments: dict[int, list[Comment]] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{ORG}/{self.name}"

    def issue(self, number: int) -> Issue | None:
        return next((i for i in self.issues if i.number == number), None)


@dataclass
class Demo:
    now: datetime
    repos: dict[str, Repo]
    # When checkout-api's error ratio jumped (the bad commit's deploy time).
    incident_start: datetime

    def repo(self, owner: str, name: str) -> Repo | None:
        return self.repos.get(name) if owner == ORG else None

    @property
    def bad_commit(self) -> Commit:
        return self.repos[CHECKOUT].commits[0]

    def error_ratio(self, service: str, at: datetime) -> float | None:
        """The demo `5xx / all requests` ratio of a service at a time (None: unknown)."""
        wobble = ((int(at.timestamp()) // 60) % 7 - 3) * 0.00005  # deterministic noise
        if service == CHECKOUT:
            base = BROKEN_ERROR_RATIO if at >= self.incident_start else HEALTHY_ERROR_RATIO
            return round(base + wobble, 6)
        if service == PAYMENTS:
            return round(PAYMENTS_ERROR_RATIO + wobble, 6)
        return None


def _sha(*parts: str) -> str:
    return sha1("\x1f".join(parts).encode()).hexdigest()


CHECKOUT_HISTORY = (  # (hours ago, author, message), oldest first
    (46, "alice-dev", "Add idempotency keys to order creation"),
    (38, "erik-platform", "Bump base image to python:3.12-slim"),
    (30, "alice-dev", "Cache cart totals for 30 seconds"),
    (22, "bob-sre", "Add p99 latency alert for checkout"),
    (14, "alice-dev", "Fix rounding of discounts in cart totals"),
    (6, "chen-payments", f"{BAD_COMMIT_MESSAGE}\n\nRetries now run concurrently with a "
                         "shared connection pool; the pool size stays at 10."),
)
PAYMENTS_HISTORY = (
    (44, "chen-payments", "Add refund webhook signature check"),
    (36, "erik-platform", "Bump base image to python:3.12-slim"),
    (29, "chen-payments", "Log provider latency per card network"),
    (20, "bob-sre", "Raise pod memory limit to 512Mi"),
    (11, "chen-payments", "Document refund webhook payloads"),
    (5, "erik-platform", "Pin httpx to 0.27 until the pool fix lands"),
)


def _commits(repo: str, history: tuple[tuple[int, str, str], ...], now: datetime) -> list[Commit]:
    commits = [
        Commit(_sha(repo, msg, str(hours)), msg, PEOPLE[login], now - timedelta(hours=hours))
        for hours, login, msg in history
    ]
    return list(reversed(commits))


def _runs(repo_id: int, commits: list[Commit], failing_from: str | None) -> list[WorkflowRun]:
    """One CI run per commit (a re-run on the failing head), failing from `failing_from`."""
    runs: list[WorkflowRun] = []
    failing = False
    for number, commit in enumerate(reversed(commits), start=1):
        failing = failing or commit.sha == failing_from
        conclusion = "failure" if failing else "success"
        created = commit.date + timedelta(minutes=2)
        title = commit.message.splitlines()[0]
        runs.append(WorkflowRun(repo_id * 1000 + number, number, commit.sha, "main",
                                conclusion, created, title))
    if failing_from is not None:  # somebody pressed "Re-run": still red
        last = runs[-1]
        runs.append(WorkflowRun(last.run_id + 500, last.run_number, last.head_sha, "main",
                                "failure", last.created_at + timedelta(minutes=25),
                                last.commit_message, run_attempt=2))
    return list(reversed(runs))


def _checkout_issues(now: datetime) -> list[Issue]:
    p = PEOPLE
    return [
        Issue(INCIDENT_ISSUE, "Checkout returns 502 for some card payments",
              "Since this morning a share of card payments fail at checkout with 502 Bad "
              "Gateway. Customers retry and some get charged twice. Seen mostly on Visa.",
              "open", p["dana-oncall"], ("bug", "incident", "sev2"),
              now - timedelta(hours=4), now - timedelta(hours=1)),
        Issue(41, "Add circuit breaker metrics to payment client",
              "Exports breaker state and trips per provider.", "open", p["bob-sre"],
              ("enhancement",), now - timedelta(hours=20), now - timedelta(hours=3),
              is_pull_request=True),
        Issue(38, "Flaky test: cart totals with mixed currencies",
              "test_cart_totals_mixed_currency fails about 1 in 20 runs.", "closed",
              p["alice-dev"], ("flaky-test",), now - timedelta(hours=40),
              now - timedelta(hours=14), closed_at=now - timedelta(hours=14)),
    ]


def _payments_issues(now: datetime) -> list[Issue]:
    return [
        Issue(7, "Document refund webhook payloads", "The docs lack the v2 payload.",
              "closed", PEOPLE["chen-payments"], ("docs",), now - timedelta(hours=30),
              now - timedelta(hours=11), closed_at=now - timedelta(hours=11)),
        Issue(9, "Support partial refunds for gift cards", "Requested by support.",
              "open", PEOPLE["erik-platform"], ("enhancement",),
              now - timedelta(hours=26), now - timedelta(hours=26)),
    ]


def build_demo(now: datetime | None = None) -> Demo:
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    checkout_commits = _commits(CHECKOUT, CHECKOUT_HISTORY, now)
    payments_commits = _commits(PAYMENTS, PAYMENTS_HISTORY, now)
    bad = checkout_commits[0]
    checkout = Repo(CHECKOUT, 501, "Checkout service: cart, orders, payment orchestration",
                    checkout_commits, _runs(501, checkout_commits, bad.sha),
                    _checkout_issues(now))
    checkout.comments[INCIDENT_ISSUE] = [
        Comment(900001, "Started around the morning deploy. Rolling back is an option if "
                        "we find the commit.", PEOPLE["bob-sre"], now - timedelta(hours=3)),
    ]
    payments = Repo(PAYMENTS, 502, "Payments service: card providers, refunds",
                    payments_commits, _runs(502, payments_commits, None),
                    _payments_issues(now))
    # Deploys follow CI by a few minutes; the errors start with the deploy.
    return Demo(now, {CHECKOUT: checkout, PAYMENTS: payments},
                incident_start=bad.date + timedelta(minutes=10))
