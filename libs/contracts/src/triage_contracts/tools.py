"""Tool names, access classes and argument schemas: what crosses between the orchestrator
(which offers tools to the model and checks proposed writes), the router (which puts them
on the wire) and the tools service (which runs them). Defined once, here.

A tool's name is `family.verb` (`github.search_issues`). Where a dot is not allowed (NATS
subject tokens, OpenAI function names) the one encoding is `wire_name` (dots become `_`);
`from_wire` maps back through the catalogue, so the encoding never has to be reversible.
"""

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

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


class SearchIssuesArgs(Arguments):
    repo: str = REPO
    query: str = Field(max_length=256, description="free text and search qualifiers "
                       "(is:issue, is:pr, label:x); the repository is set by `repo`")
    state: Literal["open", "closed", "all"] = "open"
    limit: int = Field(10, ge=1, le=50)

    @field_validator("query")
    @classmethod
    def _no_scope_widening(cls, value: str) -> str:
        # GitHub ORs repo:/org: qualifiers: one in the query would widen the allow-list.
        match = _SCOPE_QUALIFIER.search(value)
        if match:
            raise ValueError(f"the qualifier '{match.group(1)}:' is not allowed in query; "
                             "use the `repo` argument")
        return value


class RecentCommitsArgs(Arguments):
    repo: str = REPO
    limit: int = Field(10, ge=1, le=100)


class WorkflowRunsArgs(Arguments):
    repo: str = REPO
    limit: int = Field(5, ge=1, le=50)


class CommentIssueArgs(Arguments):
    repo: str = REPO
    issue_number: int = Field(ge=1, description="Issue or pull request number")
    body: str = Field(min_length=1, max_length=60_000, description="Comment text (Markdown)")


class PrometheusQueryArgs(Arguments):
    query: str = Field(min_length=1, max_length=2_000, description="a PromQL expression "
                       'evaluated now, e.g. sum(rate(http_requests_total{code=~"5.."}[5m]))')


class AlertsArgs(Arguments):
    active_only: bool = True
    limit: int = Field(50, ge=1, le=200)


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
        return ToolSpec(name=self.name, description=self.description,
                        parameters=self.arguments.model_json_schema())


CATALOGUE: tuple[ToolContract, ...] = (
    ToolContract("github.search_issues", "Search issues and pull requests of one repository "
                 "(title and body text, GitHub qualifiers).", SearchIssuesArgs),
    ToolContract("github.recent_commits", "The latest commits on the default branch, newest "
                 "first.", RecentCommitsArgs),
    ToolContract("github.workflow_runs", "The latest GitHub Actions runs (CI) with their "
                 "conclusion and head commit.", WorkflowRunsArgs),
    ToolContract("github.comment_issue", "Comment on an issue or pull request. WRITE: runs "
                 "only with a human approval of exactly this comment.", CommentIssueArgs,
                 Access.WRITE),
    ToolContract("prometheus.query", "Evaluate a PromQL expression now (instant query); "
                 "returns Prometheus's {resultType, result}.", PrometheusQueryArgs),
    ToolContract("alertmanager.alerts", "Alerts currently known to Alertmanager, with "
                 "labels, annotations and state.", AlertsArgs),
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
