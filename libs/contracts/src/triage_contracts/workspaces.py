"""The workspace directory: what the operator publishes about each `Workspace` resource
for services that need it without reading Kubernetes: the approval service reads a team's
approvers, the router its model routes and daily budget.

One JetStream KV entry per Slack team in `Buckets.WORKSPACES`, keyed by the team id
(`directory_key`). The operator writes it on every reconcile of the Workspace and deletes
it with the Workspace (or when its `teamId` changes), so an entry exists exactly while its
Workspace does. Readers treat a missing entry as "not managed by the operator" and fall
back to their own configuration.
"""

from datetime import datetime
from typing import Literal

from nats.js.errors import KeyDeletedError, KeyNotFoundError
from nats.js.kv import KeyValue
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .ids import utcnow
from .logs import get_logger
from .messages import TeamId
from .subjects import token

log = get_logger("triage.workspaces")


class RouteTarget(BaseModel):
    """One target of a team's model route: which model, never its price (the router's
    routes file prices every model it may call)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    provider: str
    model: str


class WorkspaceDirectory(BaseModel):
    """One team's entry: who may approve its writes, and which Workspace said so."""

    # Readers ignore fields they do not know: a newer operator may publish more.
    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: Literal[1] = 1
    team_id: TeamId
    workspace: str = Field(description="Name of the Workspace resource this entry mirrors")
    approvers: list[str] = Field(default_factory=list,
                                 description="Slack user ids that may approve for the team")
    model_routes: dict[str, list[RouteTarget]] = Field(
        default_factory=dict,
        description="Routes the team's model calls take instead of the router's of that name")
    # None (an entry from an older operator): the router's DAILY_BUDGET_USD.
    budget_usd_per_day: float | None = Field(
        None, ge=0, description="The team's model spend allowed per UTC day")
    updated_at: datetime = Field(default_factory=utcnow)


def directory_key(team_id: str) -> str:
    """The KV key of a team's entry (the team id, refused if it is not a safe token)."""
    return token(team_id)


async def read_entry(kv: KeyValue, key: str) -> WorkspaceDirectory | None:
    """The entry under `key` (`directory_key(team)`) in the bucket `kv`; None when there is
    none or it cannot be read (logged): a reader then falls back to its own configuration.
    NATS errors propagate."""
    try:
        found = await kv.get(key)
    except (KeyNotFoundError, KeyDeletedError):
        return None  # never published, or its Workspace is gone
    return parse_entry(key, found.value)


def parse_entry(key: str, value: bytes | None) -> WorkspaceDirectory | None:
    """An entry, or None for one that cannot be read or sits under another team's key."""
    try:
        entry = WorkspaceDirectory.model_validate_json(value or b"")
    except ValidationError as exc:
        log.warning("unreadable workspace directory entry ignored", key=key,
                    error_count=exc.error_count())
        return None
    if entry.team_id != key:
        log.warning("workspace directory entry under another team's key ignored", key=key)
        return None
    return entry
