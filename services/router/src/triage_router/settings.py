"""Router settings (env vars are the field names upper-cased): model keys, the routes file,
the daily budget and the timeouts that keep a slow vendor from stalling the queue."""

from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr, field_validator
from triage_contracts.settings import ServiceSettings
from triage_contracts.streams import Consumers

DEFAULT_ROUTES_FILE = Path(__file__).with_name("routes.yaml")
# By then every delivery of a call is over: a hold still there was left by a crashed router.
DEFAULT_HOLD_TTL_S = Consumers.ROUTER.ack_wait * Consumers.ROUTER.max_deliver


class Settings(ServiceSettings):
    nats_identity: ClassVar[str] = "router"
    openai_api_key: SecretStr | None = Field(
        None, description="Key for the OpenAI-compatible endpoint; unset = offline provider only")
    openai_base_url: str | None = Field(
        None, description="Any OpenAI-compatible server (Azure, vLLM, Ollama); None = SDK default")
    routes_file: Path = Field(DEFAULT_ROUTES_FILE, description="Model routes (YAML)")
    daily_budget_usd: float = Field(
        5.0, ge=0, description="Model spend allowed per team and UTC day")
    budget_hold_ttl_s: float = Field(
        DEFAULT_HOLD_TTL_S, gt=0,
        description="How long a budget hold of a call in flight lives if never settled")
    model_timeout_s: float = Field(60.0, gt=0, description="Timeout of one model request")
    # JetStream redelivers after AckWait; in-progress acks keep a long model call ours.
    progress_interval_s: float = Field(15.0, gt=0)
    breaker_failures: int = Field(3, ge=1, description="Consecutive failures that open a breaker")
    breaker_reset_s: float = Field(
        30.0, gt=0, description="How long an open breaker skips a target")

    @field_validator("openai_api_key", mode="before")
    @classmethod
    def _empty_key_is_none(cls, value: object) -> object:
        # OPENAI_API_KEY="" in a chart or .env means "no key", not "an empty key".
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return value

    @field_validator("openai_base_url", mode="before")
    @classmethod
    def _empty_url_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value
