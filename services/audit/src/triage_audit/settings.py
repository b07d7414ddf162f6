"""Audit settings: where the chain is stored, who may read it, and how it is anchored
outside its database (the checkpoint key, the write-once sinks, how often)."""

from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr
from sqlalchemy.engine import make_url
from triage_contracts.settings import ServiceSettings, is_real_secret

DEFAULT_DATABASE_URL = "sqlite:///./.triage/audit.db"
DEFAULT_DATA_DIR = Path(".triage")


class Settings(ServiceSettings):
    nats_identity: ClassVar[str] = "audit"
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///PATH (embedded) or postgresql+psycopg://...",
    )
    # The query API exposes every workspace's activity: production requires a token.
    audit_api_token: SecretStr | None = Field(
        default=None, description="When set, the query API requires 'Authorization: Bearer <token>'"
    )
    audit_data_dir: Path | None = Field(
        None, description="Development only: the generated checkpoint key and the default "
        "file sink (default: the SQLite database's folder, else .triage)")
    audit_checkpoint_key_file: Path | None = Field(
        None, description="Ed25519 private key, PEM PKCS#8, that signs checkpoints")
    audit_checkpoint_key: SecretStr | None = Field(
        None, description="The same key as PEM text (when no file can be mounted)")
    audit_checkpoint_public_keys: str = Field(
        "", description="PEM public keys or folders of *.pem, comma-separated (rotation)")
    audit_checkpoint_every: int = Field(
        100, ge=1, description="Checkpoint a team after this many new events")
    audit_checkpoint_interval_s: float = Field(
        60.0, gt=0, description="Checkpoint teams whose head moved at least this often")
    audit_anchor_sinks: str = Field(
        "", description="Write-once sinks: file:///path, s3://bucket/prefix?endpoint_url=...")
    # Also the largest group appended in one transaction (groups.py): a handler only waits
    # for its group's commit, so many in flight cost little and amortise each commit.
    consumer_concurrency: int = Field(64, ge=1, le=1024,
                                      description="Audit events handled (and grouped) at once")
    audit_poison_max_deliver: int = Field(
        10, ge=1, description="Deliveries before an event failing for a reason other than "
        "a database outage is dead-lettered")

    def has_checkpoint_key(self) -> bool:
        return (self.audit_checkpoint_key_file is not None
                or self.audit_checkpoint_key is not None)

    def data_dir(self) -> Path:
        """The local data folder: as configured, else beside the SQLite database (so a
        `verify` given only DATABASE_URL finds the development key and sink), else .triage."""
        if self.audit_data_dir is not None:
            return self.audit_data_dir
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return Path(url.database).parent
        return DEFAULT_DATA_DIR

    def sink_spec(self) -> str:
        """The sinks to use: configured ones, else in development a folder in the data dir."""
        if self.audit_anchor_sinks.strip() or self.is_production():
            return self.audit_anchor_sinks
        return f"file://{self.data_dir().resolve() / 'anchors'}"

    def dev_key_dir(self) -> Path | None:
        """Where a development key is kept; None in production (never generated there)."""
        return None if self.is_production() else self.data_dir()

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if not is_real_secret(self.audit_api_token):
            problems.append("AUDIT_API_TOKEN must be set (not blank)")
        if not self.has_checkpoint_key():
            problems.append("AUDIT_CHECKPOINT_KEY_FILE (or AUDIT_CHECKPOINT_KEY) must be set: "
                            "checkpoints anchor the audit chain")
        # No sinks is allowed (the chart's defaults must start) but loud: anchoring logs an
        # error and verify fails its anchor check until AUDIT_ANCHOR_SINKS is set.
        return problems
