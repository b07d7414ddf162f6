"""The Workspace spec as a typed model: the operator's own validation of what it is given.

The CRD's OpenAPI schema rejects bad specs at admission; this model repeats the essential
rules because an operator must not trust that (schemas can be relaxed, objects can predate
a schema change, test servers do not validate). A spec that fails here is a permanent error:
retrying cannot fix it, only an edit can.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from triage_contracts.errors import PermanentError, describe

TEAM_ID = r"^T[A-Z0-9]+$"
CHANNEL_ID = r"^[CGD][A-Z0-9]+$"
USER_ID = r"^[UW][A-Z0-9]+$"
REPO = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"
TOOL = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"
# A skill pinned by name, optionally to the SHA-256 of its SKILL.md (12 to 64 hex digits).
SKILL = r"^[a-z][a-z0-9-]{0,40}(@(sha256:)?[0-9a-f]{12,64})?$"
ROUTE = r"^[a-z][a-z0-9_-]*$"
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$"
SECRET_NAME = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
NATS_URL = r"^(nats|tls|ws|wss)://[^\s]+$"
# Deployment names are triage-ws-<name>-orchestrator: keep them a valid DNS label (63 chars).
MAX_NAME_LENGTH = 40


class _Model(BaseModel):
    # Unknown fields are ignored, as the API server prunes them for a structural schema.
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class ModelTarget(_Model):
    provider: Literal["openai", "offline"]
    model: Annotated[str, Field(min_length=1, max_length=200)]


class ResourceAmounts(_Model):
    cpu: Annotated[str, Field(pattern=QUANTITY)] | None = None
    memory: Annotated[str, Field(pattern=QUANTITY)] | None = None


class Resources(_Model):
    requests: ResourceAmounts = ResourceAmounts(cpu="100m", memory="128Mi")
    limits: ResourceAmounts = ResourceAmounts(memory="512Mi")


class Workers(_Model):
    replicas: Annotated[int, Field(ge=0, le=20)] = 1
    resources: Resources = Resources()


SecretName = Annotated[str, Field(pattern=SECRET_NAME, max_length=253)]


class SecretRefs(_Model):
    slack: SecretName | None = None
    github: SecretName | None = None
    openai: SecretName | None = None
    database: SecretName | None = None


class WorkspaceSpec(_Model):
    team_id: Annotated[str, Field(alias="teamId", pattern=TEAM_ID, max_length=32)]
    channels: list[Annotated[str, Field(pattern=CHANNEL_ID)]] = []
    approvers: list[Annotated[str, Field(pattern=USER_ID)]] = []
    model_routes: dict[
        Annotated[str, Field(pattern=ROUTE)], Annotated[list[ModelTarget], Field(min_length=1)]
    ] = Field(default_factory=dict, alias="modelRoutes")
    budget_usd_per_day: Annotated[float, Field(ge=0, alias="budgetUsdPerDay")] = 5.0
    tools: list[Annotated[str, Field(pattern=TOOL)]] = []
    skills: list[Annotated[str, Field(pattern=SKILL)]] = []
    github_repos: list[Annotated[str, Field(pattern=REPO)]] = Field([], alias="githubRepos")
    secret_refs: SecretRefs = Field(SecretRefs(), alias="secretRefs")
    workers: Workers = Workers()
    image: Annotated[str, Field(min_length=1)] | None = None
    nats_url: Annotated[str, Field(pattern=NATS_URL)] | None = Field(None, alias="natsUrl")


class InvalidSpec(PermanentError):
    """The Workspace cannot be reconciled as written; the message says what to fix."""


def parse_spec(name: str, spec: object) -> WorkspaceSpec:
    """Validate a Workspace's name and spec, with a one-line, human-readable reason."""
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidSpec(f"metadata.name is longer than {MAX_NAME_LENGTH} characters")
    try:
        return WorkspaceSpec.model_validate(spec)
    except ValidationError as exc:
        raise InvalidSpec(describe(exc, limit=50, root="spec")) from exc

