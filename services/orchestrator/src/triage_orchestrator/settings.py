"""Settings of the orchestrator: where the workflow and skills live, which repositories
this workspace may look at, and how approvals are presented. Built once in `main`."""

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from triage_contracts.settings import GrantVerifierSettings

from .state import RunConfig

PACKAGE_DIR = Path(__file__).resolve().parent


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class Settings(GrantVerifierSettings):
    nats_identity: ClassVar[str] = "orchestrator"
    workflow_file: Path = Field(PACKAGE_DIR / "workflow.yaml", description="Workflow spec (YAML)")
    skills_dir: Path = Field(PACKAGE_DIR / "skills", description="Folder of */SKILL.md runbooks")
    skills: str = Field("", description="Pinned skills: name or name@<sha256 prefix>, comma "
                        "list (empty: every skill in SKILLS_DIR)")
    # Comma lists stay plain strings: pydantic-settings would parse list fields as JSON.
    github_repos: str = Field("", description="Repos this workspace may look at: owner/name,...")
    default_repo: str | None = Field(None, description="Repo used when the text names none")
    approval_public_url: str = Field("http://127.0.0.1:8400", description="Approval UI base URL")
    approval_ttl_s: int = Field(14400, ge=60, description="How long an approval stays open")
    allowed_channels: str = Field("", description="Comma list; empty = every channel")
    service_labels: str = Field("", description="repo=service label pairs, comma list "
                                "(default: the repository's name)")
    allowed_tools: str = Field("", description="Tools this workspace may use, comma list "
                               "(empty: every tool; skills narrow it further)")
    bot_name: str = Field("triage", description="How the agent calls itself in prompts")
    sweep_interval_s: float = Field(30.0, gt=0, description="How often timeouts are checked")
    # Per-team fair share (fair_share.py): runs one team may have going in this replica
    # before its new requests wait; 0 = no cap (a TEAM_SCOPE'd release serves one team).
    team_max_active_runs: int = Field(16, ge=0, description="Runs one team may have going "
                                      "at once per replica before its new requests wait (0: off)")
    fair_share_retry_s: float = Field(1.0, gt=0, description="How soon a request over its "
                                      "team's share is offered again")

    def run_config(self) -> RunConfig:
        return RunConfig(
            repos=_split(self.github_repos),
            default_repo=self.default_repo or None,
            services=dict(pair.split("=", 1) for pair in _split(self.service_labels)
                          if "=" in pair),
            allowed_tools=_split(self.allowed_tools) or None,
            bot_name=self.bot_name,
            allowed_channels=_split(self.allowed_channels),
            approval_public_url=self.approval_public_url.rstrip("/"),
            approval_ttl_s=self.approval_ttl_s,
        )
