"""Tool names, access classes and argument schemas: what crosses between the orchestrator
(which offers tools to the model and checks proposed writes), the router (which puts them
on the wire) and the tools service (which runs them). Defined once, here.

A tool's name is `family.verb` (`github.search_issues`). Where a dot is not allowed (NATS
subject tokens, OpenAI function names) the one encoding is `wire_name` (dots become `_`);
`from_wire` maps back through the catalogue, so the encoding never has to be reversible.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import describe
from .messages import ToolSpec


class Access(StrEnum):
    READ = "read"
    WRITE = "write"  # runs only with a human approval of exactly this call


class Arguments(BaseModel):
    """Base of every tool's argument model: unknown arguments are errors, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


REPO = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
             description='"owner/name"; must be one of GITHUB_REPOS')
_SCOPE_QUALIFIER = re.compile(r"(?i)(?:^|\s)-?(repo|org|user|owner):")
SHA = Field(pattern=r"^[0-9a-fA-F]{7,40}$", description="commit sha (7 to 40 hex characters)")
PROMQL = Field(min_length=1, max_length=2_000, description="a PromQL expression, e.g. "
               'sum(rate(http_requests_total{code=~"5..",service="x"}[5m]))')
DURATION = r"^[0-9]+(ms|s|m|h|d|w)$"


def no_scope_widening(query: str) -> str:
    """GitHub ORs repo:/org: qualifiers: one in a query would widen the allow-list."""
    match = _SCOPE_QUALIFIER.search(query)
    if match:
        raise ValueError(f"the qualifier '{match.group(1)}:' is not allowed in query; "
                         "use the `repo` argument")
    return query


class SearchIssuesArgs(Arguments):
    repo: str = REPO
    query: str = Field(max_length=256, description="free text and search qualifiers "
                       "(is:issue, is:pr, label:x, created:>=2026-01-01); the repository is set "
                       "by `repo`")
    state: Literal["open", "closed", "all"] = "open"
    limit: int = Field(10, ge=1, le=50)

    @field_validator("query")
    @classmethod
    def _scoped(cls, value: str) -> str:
        return no_scope_widening(value)


class ListIssuesArgs(Arguments):
    repo: str = REPO
    state: Literal["open", "closed", "all"] = "open"
    labels: list[Annotated[str, Field(max_length=50)]] = Field(
        default_factory=list, max_length=10, description="all of these labels, e.g. [\"sev1\"]")
    kind: Literal["issue", "pr", "all"] = "all"
    since: datetime | None = Field(None, description="updated at or after (ISO 8601)")
    limit: int = Field(20, ge=1, le=100)


class GetIssueArgs(Arguments):
    repo: str = REPO
    number: int = Field(ge=1, description="issue or pull request number")
    comments: int = Field(10, ge=0, le=50, description="latest comments to include")


class GetPullArgs(Arguments):
    repo: str = REPO
    number: int = Field(ge=1, description="pull request number")
    files: int = Field(30, ge=0, le=100, description="changed files to include (with patches)")


class RecentCommitsArgs(Arguments):
    repo: str = REPO
    limit: int = Field(10, ge=1, le=100)
    since: datetime | None = Field(None, description="only commits at or after (ISO 8601)")
    until: datetime | None = Field(None, description="only commits before (ISO 8601)")
    path: str | None = Field(None, max_length=300, description="only commits touching this path")
    branch: str | None = Field(None, max_length=200, description="branch or sha to list from "
                               "(default branch when unset)")


class CommitPullsArgs(Arguments):
    repo: str = REPO
    sha: str = SHA


class CompareArgs(Arguments):
    repo: str = REPO
    base: str = Field(min_length=1, max_length=200, description="older ref: sha, tag or branch")
    head: str = Field(min_length=1, max_length=200, description="newer ref: sha, tag or branch")
    limit: int = Field(30, ge=1, le=100, description="commits and files to include")


class WorkflowRunsArgs(Arguments):
    repo: str = REPO
    limit: int = Field(5, ge=1, le=50)
    branch: str | None = Field(None, max_length=200)
    status: Literal["completed", "failure", "success", "in_progress", "queued"] | None = None


class WorkflowJobsArgs(Arguments):
    repo: str = REPO
    run_id: int = Field(ge=1, description="the workflow run's id (not its number)")


class JobLogArgs(Arguments):
    repo: str = REPO
    job_id: int = Field(ge=1)
    tail_lines: int = Field(80, ge=1, le=500, description="last lines of the log to return")


class SearchCodeArgs(Arguments):
    repo: str = REPO
    query: str = Field(min_length=1, max_length=256, description="code search terms "
                       "(path:, language:, extension: qualifiers allowed)")
    limit: int = Field(10, ge=1, le=50)

    @field_validator("query")
    @classmethod
    def _scoped(cls, value: str) -> str:
        return no_scope_widening(value)


class CommentIssueArgs(Arguments):
    repo: str = REPO
    issue_number: int = Field(ge=1, description="Issue or pull request number")
    body: str = Field(min_length=1, max_length=60_000, description="Comment text (Markdown)")


class PrometheusQueryArgs(Arguments):
    query: str = PROMQL
    time: datetime | None = Field(None, description="evaluation time (ISO 8601; default now)")


class PrometheusRangeArgs(Arguments):
    query: str = PROMQL
    range: str = Field("6h", pattern=DURATION, description="how far back from `end`, e.g. 6h")
    step: str = Field("5m", pattern=DURATION, description="resolution, e.g. 1m, 5m")
    end: datetime | None = Field(None, description="end of the range (ISO 8601; default now)")


class PrometheusSeriesArgs(Arguments):
    match: str = Field(min_length=1, max_length=1_000, description="series selector, e.g. "
                       'http_requests_total{service="checkout-api"}')
    limit: int = Field(50, ge=1, le=500)


class PrometheusLabelValuesArgs(Arguments):
    label: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="e.g. service, job")
    match: str | None = Field(None, max_length=1_000, description="only series matching this")
    limit: int = Field(100, ge=1, le=1_000)


class PrometheusAlertsArgs(Arguments):
    state: Literal["firing", "pending", "all"] = "firing"


class AlertsArgs(Arguments):
    active_only: bool = True
    limit: int = Field(50, ge=1, le=200)
    filter: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=10, description='label matchers, e.g. ["service=\"x\""]')


class OutputPageArgs(Arguments):
    handle: str = Field(pattern=r"^out-[A-Za-z0-9_-]{1,120}$", description="from a cut output")
    page: int = Field(2, ge=2, le=1_000, description="page to read (the first was returned)")


def wire_name(name: str) -> str:
    """The one dot-free encoding of a tool name (subject token, OpenAI function name)."""
    return name.replace(".", "_")


@dataclass(frozen=True)
class ToolContract:
    name: str
    description: str
    arguments: type[Arguments]
    access: Access = Access.READ

    @property
    def wire(self) -> str:
        return wire_name(self.name)

    def spec(self) -> ToolSpec:
        """What a model is shown: name, description, JSON schema of the arguments."""
        return _spec(self)


@cache
def _spec(contract: ToolContract) -> ToolSpec:
    # Built once per contract: generating the JSON schemas on every model call was a fifth
    # of the orchestrator's CPU at load (docs/benchmarks.md). Shared, so never mutated.
    return ToolSpec(name=contract.name, description=contract.description,
                    parameters=contract.arguments.model_json_schema())


CATALOGUE: tuple[ToolContract, ...] = (
    ToolContract("github.search_issues", "Search issues and pull requests of one repository "
                 "(title and body text, GitHub qualifiers such as label:sev1 is:pr).",
                 SearchIssuesArgs),
    ToolContract("github.list_issues", "List issues and/or pull requests of a repository by "
                 "state, labels and last update, newest first, with labels and a body excerpt.",
                 ListIssuesArgs),
    ToolContract("github.get_issue", "One issue or pull request: body, labels, state, "
                 "assignees and its latest comments.", GetIssueArgs),
    ToolContract("github.get_pull", "One pull request with merge data (merged, merged_at, "
                 "merge_commit_sha, merged_by) and its changed files with patches.",
                 GetPullArgs),
    ToolContract("github.recent_commits", "Commits newest first, optionally since/until a "
                 "time, touching a path, or on a branch.", RecentCommitsArgs),
    ToolContract("github.commit_pulls", "The pull requests that contain a commit (which PR "
                 "introduced it).", CommitPullsArgs),
    ToolContract("github.compare", "Compare two refs: commits and changed files between "
                 "base and head.", CompareArgs),
    ToolContract("github.workflow_runs", "Recent GitHub Actions runs (CI) with conclusion, "
                 "head commit and branch.", WorkflowRunsArgs),
    ToolContract("github.workflow_jobs", "The jobs of one workflow run with their steps and "
                 "conclusions (find the failed step).", WorkflowJobsArgs),
    ToolContract("github.job_log", "The tail of one job's log (where a failed step says "
                 "why).", JobLogArgs),
    ToolContract("github.search_code", "Search code in a repository (paths and matching "
                 "lines).", SearchCodeArgs),
    ToolContract("github.comment_issue", "Comment on an issue or pull request. WRITE: runs "
                 "only with a human approval of exactly this comment.", CommentIssueArgs,
                 Access.WRITE),
    ToolContract("prometheus.query", "Evaluate a PromQL expression at one time (instant "
                 "query); returns Prometheus's {resultType, result}.", PrometheusQueryArgs),
    ToolContract("prometheus.query_range", "Evaluate a PromQL expression over a time range "
                 "(e.g. the last 6h at 5m steps) to see when something changed.",
                 PrometheusRangeArgs),
    ToolContract("prometheus.series", "Find series (metric names and label sets) matching a "
                 "selector.", PrometheusSeriesArgs),
    ToolContract("prometheus.label_values", "The values of one label (e.g. every service), "
                 "optionally among series matching a selector.", PrometheusLabelValuesArgs),
    ToolContract("prometheus.alerts", "Alerts known to Prometheus's rules (firing or "
                 "pending) with labels, annotations and since when (activeAt).",
                 PrometheusAlertsArgs),
    ToolContract("alertmanager.alerts", "Alerts currently known to Alertmanager, with "
                 "labels, annotations, state and startsAt.", AlertsArgs),
    ToolContract("output.page", "Read the next page of a tool output that was cut to fit "
                 "(its result says the handle and the next page).", OutputPageArgs),
)
TOOLS: dict[str, ToolContract] = {tool.name: tool for tool in CATALOGUE}
WRITE_TOOLS: frozenset[str] = frozenset(t.name for t in CATALOGUE if t.access is Access.WRITE)
_BY_WIRE: dict[str, str] = {tool.wire: tool.name for tool in CATALOGUE}


def from_wire(wire: str) -> str:
    """The tool name behind a wire name; an unknown one is returned unchanged (the tools
    service then answers 'unknown tool' with the list of known ones)."""
    return _BY_WIRE.get(wire, wire)


def check_arguments(name: str, arguments: dict[str, Any]) -> str | None:
    """None when `arguments` fit the tool's schema, else what to fix."""
    try:
        TOOLS[name].arguments.model_validate(arguments)
    except ValidationError as exc:
        return describe(exc, limit=20)
    return None
