"""The world every stand-in serves, in memory: repositories (commits, CI runs with jobs and
logs, issues, pull requests, files), metric series and alerts, all at absolute times.

A world is built once at start-up (from a world file, `load.py`) and read by the GitHub,
Prometheus and Alertmanager stand-ins, so they tell one story. Only GitHub's posted
comments change it afterwards. Lists are newest first where GitHub lists them so.
"""

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Person:
    login: str
    name: str
    user_id: int
    member: bool = True  # False: an outside contributor (author_association NONE)

    @property
    def email(self) -> str:
        return f"{self.login}@demo-org.example"


@dataclass(frozen=True)
class FileChange:
    filename: str
    status: str  # added | modified | removed | renamed
    patch: str
    previous_filename: str | None = None

    @property
    def additions(self) -> int:
        return sum(1 for line in self.patch.splitlines() if line.startswith("+"))

    @property
    def deletions(self) -> int:
        return sum(1 for line in self.patch.splitlines() if line.startswith("-"))


@dataclass(frozen=True)
class Commit:
    sha: str
    message: str
    author: Person
    date: datetime
    files: tuple[FileChange, ...] = ()
    parent: str | None = None  # main is linear: one parent, None for the oldest known


@dataclass(frozen=True)
class Step:
    number: int
    name: str
    conclusion: str  # success | failure | skipped
    started_at: datetime
    completed_at: datetime


@dataclass(frozen=True)
class Job:
    job_id: int
    name: str
    conclusion: str
    started_at: datetime
    completed_at: datetime
    steps: tuple[Step, ...]
    log: str  # the whole job log as GitHub serves it (BOM, one timestamped line per line)


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
    path: str = ".github/workflows/ci.yml"
    jobs: tuple[Job, ...] = ()


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
class PullRequest:
    """The pull-request side of an issue that is a PR (same number, see `Repo.issue`)."""

    number: int
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    files: tuple[FileChange, ...]
    merged_at: datetime | None = None
    merged_by: Person | None = None
    merge_commit_sha: str | None = None
    draft: bool = False


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
    owner: str = "demo-org"
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # the default branch's tree
    default_branch: str = "main"
    # Pull requests' head branches (not on the default branch): branch -> head commit.
    heads: dict[str, Commit] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def issue(self, number: int) -> Issue | None:
        return next((i for i in self.issues if i.number == number), None)

    def commit(self, sha: str) -> Commit | None:
        """Any known commit by full SHA: the default branch's or a head branch's."""
        return next((c for c in [*self.commits, *self.heads.values()] if c.sha == sha), None)


@dataclass(frozen=True)
class Series:
    """A piecewise-constant metric series: `steps` are (from, value) in time order; a value
    of None means no samples (the series is absent then), as is any time before the first
    step with a `from`. `noise` adds a deterministic per-minute wobble so graphs look alive."""

    name: str
    labels: dict[str, str]
    steps: tuple[tuple[datetime | None, float | None], ...]
    noise: float = 0.0

    def value_at(self, at: datetime) -> float | None:
        current: float | None = None
        for start, value in self.steps:
            if start is None or start <= at:
                current = value
        if current is None or not self.noise:
            return current
        wobble = ((int(at.timestamp()) // 60) % 7 - 3) * self.noise
        return round(current + wobble, 6)

    def present(self, start: datetime, end: datetime) -> bool:
        """Whether the series has samples at some time in [start, end]."""
        if self.value_at(start) is not None:
            return True
        return any(s is not None and start <= s <= end and v is not None for s, v in self.steps)


@dataclass(frozen=True)
class Alert:
    """An alerting rule's alert: pending from `active_at`, firing from `fired_at`."""

    name: str
    labels: dict[str, str]  # without alertname
    annotations: dict[str, str]
    expr: str
    active_at: datetime
    fired_at: datetime
    resolved_at: datetime | None
    value: float | None
    receivers: tuple[str, ...]

    @property
    def all_labels(self) -> dict[str, str]:
        return {"alertname": self.name, **self.labels}

    def state(self, at: datetime) -> str | None:
        """Prometheus's state at `at`: pending, firing, or None (inactive or resolved)."""
        if at < self.active_at or (self.resolved_at is not None and at >= self.resolved_at):
            return None
        return "firing" if at >= self.fired_at else "pending"


@dataclass(frozen=True)
class Silence:
    silence_id: str
    matchers: dict[str, str]  # label = value (equality only)
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str

    def mutes(self, labels: dict[str, str], at: datetime) -> bool:
        active = self.starts_at <= at < self.ends_at
        return active and all(labels.get(k) == v for k, v in self.matchers.items())


@dataclass(frozen=True)
class InhibitRule:
    source: dict[str, str]
    target: dict[str, str]
    equal: tuple[str, ...]

    def inhibits(self, source: dict[str, str], target: dict[str, str]) -> bool:
        return (all(source.get(k) == v for k, v in self.source.items())
                and all(target.get(k) == v for k, v in self.target.items())
                and all(source.get(k) == target.get(k) for k in self.equal))


@dataclass
class World:
    now: datetime
    repos: dict[str, Repo]
    # When the story's incident began (None: a world without one).
    incident_start: datetime | None = None
    series: list[Series] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    silences: list[Silence] = field(default_factory=list)
    inhibit_rules: list[InhibitRule] = field(default_factory=list)
    built: float = field(default_factory=time.monotonic)

    def current(self) -> datetime:
        """The world's time now: its `now` when it was built, plus the time since. A world
        anchored in the past (a fixed `now`) keeps its alerts and silences as they were."""
        return self.now + timedelta(seconds=time.monotonic() - self.built)

    def repo(self, owner: str, name: str) -> Repo | None:
        repo = self.repos.get(name)
        return repo if repo is not None and repo.owner == owner else None
