"""Settings of the orchestrator: where the workflow and skills live, which repositories
this workspace may look at, and how approvals are presented. Built once in `main`."""

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from triage_contracts.settings import ServiceSettings

from .state import RunConfig

PACKAGE_DIR = Path(__file__).resolve().parent


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class Settings(ServiceSettings):
    uses_approval_key: ClassVar[bool] = True
    workflow_file: Path = Field(PACKAGE_DIR / "workflow.yaml", description="Workflow spec (YAML)")
    skills_dir: Path = Field(PACKAGE_DIR / "skills", description="Folder of skill YAML files")
    # Comma lists stay plain strings: pydantic-settings would parse list fields as JSON.
    github_repos: str = Field("", description="Repos this workspace may look at: owner/name,...")
    default_repo: str | None = Field(None, description="Repo used when the text names none")
    approval_public_url: str = Field("http://127.0.0.1:8400", description="Approval UI base URL")
    approval_ttl_s: int = Field(14400, ge=60, description="How long an approval stays open")
    allowed_channels: str = Field("", description="Comma list; empty = every channel")
    sweep_interval_s: float = Field(30.0, gt=0, description="How often timeouts are checked")

    def run_config(self) -> RunConfig:
        return RunConfig(
            repos=_split(self.github_repos),
            default_repo=self.default_repo or None,
            allowed_channels=_split(self.allowed_channels),
            approval_public_url=self.approval_public_url.rstrip("/"),
            approval_ttl_s=self.approval_ttl_s,
        )
