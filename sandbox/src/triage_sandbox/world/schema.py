"""The world file: a YAML (or JSON) description of what the stand-ins serve, so an eval
case can bring its own world. Every model forbids unknown keys, so a typo fails loudly.

Times are relative to the world's "now" (`now:` in the file, else the moment it is
loaded): "-6h" is six hours before, "+2d" two days after, "now" is now; an ISO 8601
timestamp is taken as is. Durations ("2m", "1h30m") are unsigned. References between
entries use the ids given in the file (people by login, commits by `id`). Top-level keys
starting with `x-` are ignored: they hold YAML anchors that other entries reuse.
"""

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

SPAN = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def _check_span(text: str) -> str:
    if not text or not SPAN.fullmatch(text):
        raise ValueError(f"not a duration like 2m or 1h30m: {text!r}")
    return text


def _check_time(text: str) -> str:
    if text == "now" or (text[:1] in "+-" and SPAN.fullmatch(text[1:]) and text[1:]):
        return text
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a time like -6h, +2d, now or an ISO 8601 timestamp: {text!r}"
                         ) from None
    return text


Duration = Annotated[str, AfterValidator(_check_span)]
Time = Annotated[str, AfterValidator(_check_time)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PersonSpec(Strict):
    name: str
    id: int
    member: bool = True


class FileSpec(Strict):
    filename: str
    status: Literal["added", "modified", "removed", "renamed"] = "modified"
    patch: str = ""
    previous_filename: str | None = None


class CommitSpec(Strict):
    id: str
    at: Time
    author: str
    message: str
    sha: str | None = Field(default=None, pattern=r"^[0-9a-f]{40}$")  # default: derived, stable
    files: list[FileSpec] = []


class StepSpec(Strict):
    name: str
    run: str | None = None  # the command, shown as GitHub's "##[group]Run ..." header
    log: str = ""  # what the step printed
    seconds: int = 2


class JobSpec(Strict):
    name: str
    steps: list[StepSpec]


class WorkflowSpec(Strict):
    name: str = "CI"
    path: str = ".github/workflows/ci.yml"
    jobs: list[JobSpec]


class FailureSpec(Strict):
    job: str
    step: str
    log: str  # what the failing step printed instead of its usual log


class RunSpec(Strict):
    commit: str
    attempt: int = Field(1, ge=1)
    after: Duration = "2m"  # created this long after the commit
    failure: FailureSpec | None = None


class CommentSpec(Strict):
    author: str
    at: Time
    body: str
    id: int | None = None


class IssueSpec(Strict):
    number: int = Field(ge=1)
    title: str
    body: str = ""
    author: str
    labels: list[str] = []
    created: Time
    updated: Time | None = None  # default: the latest of created, comments, closed
    closed: Time | None = None
    comments: list[CommentSpec] = []


class PullSpec(IssueSpec):
    head: str  # the head branch
    base: str = "main"
    merged: Time | None = None
    merged_by: str | None = None
    merge_commit: str | None = None  # id of the commit the merge put on main
    files: list[FileSpec] | None = None  # default: the merge commit's files
    draft: bool = False


class RepoSpec(Strict):
    id: int
    description: str = ""
    default_branch: str = "main"
    files: dict[str, str] = {}  # the default branch's files at its head
    commits: list[CommitSpec] = []  # oldest first
    workflow: WorkflowSpec | None = None
    runs: list[RunSpec] = []  # oldest first
    issues: list[IssueSpec] = []
    pulls: list[PullSpec] = []


class ValueSpec(Strict):
    value: float | None  # None: no samples from here on
    from_: Time | None = Field(default=None, alias="from")


class SeriesSpec(Strict):
    metric: str = Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    labels: dict[str, str] = {}
    values: list[ValueSpec] = Field(min_length=1)
    noise: float = 0.0

    @model_validator(mode="after")
    def _only_the_first_is_open(self) -> "SeriesSpec":
        if any(v.from_ is None for v in self.values[1:]):
            raise ValueError("only the first value may omit `from`")
        return self


class AlertSpec(Strict):
    name: str
    expr: str
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    active: Time  # when the expression first held (pending from here)
    for_: Duration = Field("0s", alias="for")
    resolved: Time | None = None
    value: float | None = None  # default: the expression's value, where the sandbox knows it
    receivers: list[str] = ["default"]


class SilenceSpec(Strict):
    id: str
    matchers: dict[str, str]
    starts: Time
    ends: Time
    created_by: str
    comment: str


class InhibitRuleSpec(Strict):
    source: dict[str, str]
    target: dict[str, str]
    equal: list[str] = []


class WorldSpec(Strict):
    extends: str | None = None  # a packaged world name or a path; this file adds to it
    now: datetime | None = None
    org: str = "demo-org"
    incident_start: Time | None = None
    people: dict[str, PersonSpec] = {}
    repos: dict[str, RepoSpec] = {}
    series: list[SeriesSpec] = []
    alerts: list[AlertSpec] = []
    silences: list[SilenceSpec] = []
    inhibit_rules: list[InhibitRuleSpec] = []
