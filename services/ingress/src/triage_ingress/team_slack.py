"""Which bot token speaks for a team: its own, from the OAuth installation store, when the
app was installed there; else the single-workspace SLACK_BOT_TOKEN.

A team with neither is told so in its NotifyResult (the run must learn that its reply did
not arrive), not retried: redelivery would not install the app. So is a team whose stored
token the vault refuses to open (tampered, unknown master key, plaintext in production).
"""

from pydantic import SecretStr
from triage_contracts.errors import ErrorCode, PermanentError
from triage_contracts.logs import get_logger

from .clients.slack import SlackClient
from .installations import Stores
from .token_rotation import TokenRotation
from .vault import VaultError

NOT_CONFIGURED = "slack_bot_token_not_configured"
log = get_logger("triage.ingress.team_slack")


class NoSlackFor(PermanentError):
    def __init__(self, error: str) -> None:
        super().__init__(error, ErrorCode.UPSTREAM_REJECTED)
        self.error = error


class TeamSlack:
    def __init__(self, default: SlackClient | None, stores: Stores | None, api_url: str,
                 timeout: int = 10) -> None:
        self.default = default
        self.stores = stores
        self._api_url = api_url
        self._timeout = timeout
        # One client per installed token; a reinstall (new token) gets a new client.
        self._clients: dict[str, SlackClient] = {}
        # Set when the app's tokens rotate (SLACK_CLIENT_SECRET known): see token_rotation.
        self.rotation: TokenRotation | None = None

    async def for_team(self, team_id: str, enterprise_id: str | None = None) -> SlackClient:
        try:
            token = await self._installed_token(team_id, enterprise_id)
        except VaultError as exc:
            log.error("stored token refused by the vault", team_id=team_id, reason=str(exc))
            # Never fall back to the default token: that would speak for the wrong app.
            raise NoSlackFor(f"workspace {team_id}: its stored token is unusable "
                             f"({type(exc).__name__})") from exc
        if token is not None:
            return self._client(token)
        if self.default is not None:
            return self.default
        if self.stores is not None:
            raise NoSlackFor(f"workspace {team_id} is not installed")
        raise NoSlackFor(NOT_CONFIGURED)

    async def _installed_token(self, team_id: str, enterprise_id: str | None
                               ) -> SecretStr | None:
        if self.stores is None:
            return None
        found = await self.stores.installation(team_id, enterprise_id)
        if found is not None and self.rotation is not None:
            found = await self.rotation.fresh(found)  # refreshed before it expires
        return SecretStr(found.bot_token) if found is not None and found.bot_token else None

    def _client(self, token: SecretStr) -> SlackClient:
        key = token.get_secret_value()
        if key not in self._clients:
            self._clients[key] = SlackClient(token, self._api_url, timeout=self._timeout)
        return self._clients[key]
