"""slack-sdk's SQLAlchemy installation store with every credential sealed by the vault.

Only the credential columns change: they are sealed on `save`/`save_bot` and opened where
slack-sdk builds its `Installation`/`Bot` from a row (`build_*_entity`, which slack-sdk
calls through `self`), so slack-sdk's own queries, its latest-bot lookup and its tables
stay as they are. The credential columns are TEXT: a sealed value outgrows slack-sdk's
VARCHAR(200), and `widen_credential_columns` migrates tables created before the vault.
"""

import copy
from typing import Any, TypeVar

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Engine, MetaData, Table, Text, inspect, text

from .vault import Context, Vault, is_sealed

BOT_FIELDS = ("bot_token", "bot_refresh_token")
# User tokens belong to one person: their context names the user too.
USER_FIELDS = ("user_token", "user_refresh_token")
INSTALLATION_FIELDS = (*BOT_FIELDS, *USER_FIELDS, "incoming_webhook_url")
Record = TypeVar("Record", Installation, Bot)


def _get(record: Any, name: str) -> str | None:
    value = record.get(name) if isinstance(record, dict) else getattr(record, name, None)
    return None if value is None else str(value)


def context_of(client_id: str, record: Any, field: str) -> Context:
    """`record`: an Installation, a Bot or a database row mapping (same attribute names)."""
    user = _get(record, "user_id") if field in USER_FIELDS else None
    return Context(client_id, _get(record, "enterprise_id"), _get(record, "team_id"), field,
                   user)


def _text_columns(table: Table) -> Table:
    for name in INSTALLATION_FIELDS:
        if name in table.c:
            table.c[name].type = Text()
    return table


class SealedInstallationStore(SQLAlchemyInstallationStore):
    def __init__(self, client_id: str, engine: Engine, vault: Vault) -> None:
        super().__init__(client_id, engine)
        self.vault = vault

    @classmethod
    def build_installations_table(cls, metadata: MetaData, table_name: str) -> Table:
        return _text_columns(super().build_installations_table(metadata, table_name))

    @classmethod
    def build_bots_table(cls, metadata: MetaData, table_name: str) -> Table:
        return _text_columns(super().build_bots_table(metadata, table_name))

    def create_tables(self) -> list[str]:
        """Creates missing tables; returns the columns widened from VARCHAR."""
        super().create_tables()  # type: ignore[no-untyped-call]
        return widen_credential_columns(self.engine, (self.installations, self.bots))

    def _seal(self, record: Record, fields: tuple[str, ...]) -> Record:
        sealed = copy.copy(record)
        for field in fields:
            value = getattr(record, field, None)
            if value and not is_sealed(value):
                setattr(sealed, field, self.vault.seal(
                    value, context_of(self.client_id, record, field)))
        return sealed

    def _open(self, record: Record, fields: tuple[str, ...]) -> Record:
        for field in fields:
            value = getattr(record, field, None)
            if value:
                setattr(record, field, self.vault.open(
                    value, context_of(self.client_id, record, field)))
        return record

    def save(self, installation: Installation) -> None:
        # slack-sdk's save then saves `sealed.to_bot()`: already sealed, kept as is.
        super().save(self._seal(installation, INSTALLATION_FIELDS))

    def save_bot(self, bot: Bot) -> None:
        super().save_bot(self._seal(bot, BOT_FIELDS))

    # slack-sdk declares these classmethods but calls them through `self`: as instance
    # methods here they reach the vault.
    def build_installation_entity(self, row: Any) -> Installation:  # type: ignore[override]
        return self._open(super().build_installation_entity(row), INSTALLATION_FIELDS)

    def build_bot_entity(self, row: Any) -> Bot:  # type: ignore[override]
        return self._open(super().build_bot_entity(row), BOT_FIELDS)


def widen_credential_columns(engine: Engine, tables: tuple[Table, ...]) -> list[str]:
    """Turn slack-sdk's VARCHAR(200) credential columns into TEXT (PostgreSQL; SQLite does
    not enforce lengths). Idempotent; returns the columns it changed."""
    if engine.dialect.name != "postgresql":
        return []
    changed = []
    with engine.begin() as conn:
        for table in tables:
            columns = {c["name"]: c["type"] for c in inspect(conn).get_columns(table.name)}
            for name in INSTALLATION_FIELDS:
                if getattr(columns.get(name), "length", None) is not None:
                    conn.execute(text(f'ALTER TABLE "{table.name}" ALTER COLUMN "{name}" '
                                      "TYPE TEXT"))
                    changed.append(f"{table.name}.{name}")
    return changed
