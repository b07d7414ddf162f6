"""Where the channel page sends what people type and click: the real ingress, signed with
the workspace's signing secret, exactly as Slack would. Read from SANDBOX_* variables, set
by the dev plan (`plan.py`) for the Slack stand-in process."""

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ChannelSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SANDBOX_", extra="ignore",
                                      hide_input_in_errors=True)

    signing_secret: SecretStr | None = Field(None, description="Slack signing secret to sign with")
    ingress_url: str | None = Field(None, description="Base URL of the ingress to send to")
    approval_url: str | None = Field(None, description="Approval web UI, linked from the page")
    channel_id: str = Field("C_TRIAGE", description="The one public channel of the sandbox")
    timeout_s: float = Field(3.0, gt=0, description="Timeout of one call to the ingress "
                                                   "(Slack waits 3 seconds)")
    retry_delays_s: tuple[float, ...] = Field(
        (1.0, 5.0, 15.0), description="Slack retries an event the ingress did not take "
                                      "(timeout, 5xx) three times; Slack's own delays are "
                                      "immediately, 1 minute and 5 minutes")

    @classmethod
    def disconnected(cls) -> "ChannelSettings":
        """No ingress: the page shows the stand-in's messages but cannot send."""
        return cls.model_construct()

    @property
    def connected(self) -> bool:
        return bool(self.ingress_url and self.signing_secret
                    and self.signing_secret.get_secret_value())
