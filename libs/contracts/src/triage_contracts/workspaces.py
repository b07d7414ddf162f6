"""The workspace directory: what the operator publishes about each `Workspace` resource
for services that need it without reading Kubernetes (today: the approval service's
per-team approver lists).

One JetStream KV entry per Slack team in `Buckets.WORKSPACES`, keyed by the team id
(`directory_key`). The operator writes it on every reconcile of the Workspace and deletes
it with the Workspace (or when its `teamId` changes), so an entry exists exactly while its
Workspace does. Readers treat a missing entry as "not managed by the operator" and fall
back to their own configuration.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .ids import utcnow
from .messages import TeamId
from .subjects import token


class WorkspaceDirectory(BaseModel):
    """One team's entry: who may approve its writes, and which Workspace said so."""

    # Readers ignore fields they do not know: a newer operator may publish more.
    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: Literal[1] = 1
    team_id: TeamId
    workspace: str = Field(description="Name of the Workspace resource this entry mirrors")
    approvers: list[str] = Field(default_factory=list,
                                 description="Slack user ids that may approve for the team")
    updated_at: datetime = Field(default_factory=utcnow)


def directory_key(team_id: str) -> str:
    """The KV key of a team's entry (the team id, refused if it is not a safe token)."""
    return token(team_id)
