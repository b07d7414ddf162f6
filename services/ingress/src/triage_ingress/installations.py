"""Where installed workspaces live: slack-sdk's own SQLAlchemy stores (OAuth states and
installations) on DATABASE_URL, shared by the edge (which saves installs) and the notifier
(which reads each team's bot token). Every stored credential is sealed by the connector
vault (`sealed_store.py`): the database never holds a token in the clear.

slack-sdk's stores are synchronous; every call goes through a worker thread so a slow
database never stalls the event loop that also answers Slack within its 3 seconds.
"""

import asyncio
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from triage_contracts.errors import TemporaryError

from .sealed_store import SealedInstallationStore
from .vault import Vault

# Slack's own authorization codes live 10 minutes; a state need not outlive them.
STATE_TTL_S = 600


@dataclass
class Stores:
    engine: Engine
    states: SQLAlchemyOAuthStateStore
    installations: SealedInstallationStore

    @classmethod
    def build(cls, database_url: str, client_id: str, vault: Vault) -> "Stores":
        """No I/O: the engine connects lazily, tables are created in `open`."""
        engine = create_engine(database_url, pool_pre_ping=True)
        return cls(engine, SQLAlchemyOAuthStateStore(STATE_TTL_S, engine),
                   SealedInstallationStore(client_id, engine, vault))

    async def open(self) -> None:
        await asyncio.to_thread(self._create)

    def _create(self) -> None:
        url = make_url(self.engine.url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # slack-sdk's stores are untyped.
        self.states.create_tables()  # type: ignore[no-untyped-call]
        self.installations.create_tables()

    async def close(self) -> None:
        self.engine.dispose()

    async def issue_state(self) -> str:
        return await asyncio.to_thread(self.states.issue)

    async def consume_state(self, state: str) -> bool:
        """True once for a fresh state; unknown, expired or used states are False."""
        return await asyncio.to_thread(self.states.consume, state)

    async def save(self, installation: Installation) -> None:
        await asyncio.to_thread(self.installations.save, installation)

    async def forget(self, enterprise_id: str | None, team_id: str | None) -> None:
        """Delete the workspace's installation and bot (after an uninstall or revocation)."""
        await asyncio.to_thread(self._forget, enterprise_id, team_id)

    def _forget(self, enterprise_id: str | None, team_id: str | None) -> None:
        self.installations.delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        self.installations.delete_installation(enterprise_id=enterprise_id, team_id=team_id)

    async def bot_token(self, team_id: str, enterprise_id: str | None = None
                        ) -> SecretStr | None:
        """The team's bot token, or None when the app is installed neither in the team nor
        (Enterprise Grid) across its organisation."""
        found = await self.installation(team_id, enterprise_id)
        if found is None or not found.bot_token:
            return None
        return SecretStr(found.bot_token)

    async def installation(self, team_id: str, enterprise_id: str | None = None
                           ) -> Installation | None:
        try:
            return await asyncio.to_thread(self._find, team_id, enterprise_id)
        except SQLAlchemyError as exc:  # the database is down: redeliver later
            raise TemporaryError(f"installation store: {type(exc).__name__}") from exc

    def _find(self, team_id: str, enterprise_id: str | None) -> Installation | None:
        store = self.installations
        # A workspace install (inside a Grid org or not) first, then the org-wide one.
        found = store.find_installation(enterprise_id=enterprise_id, team_id=team_id)
        if found is None and enterprise_id:
            found = store.find_installation(enterprise_id=enterprise_id, team_id=None,
                                            is_enterprise_install=True)
        return found
