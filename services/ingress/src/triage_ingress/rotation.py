"""Re-sealing every stored credential under the active master key: key rotation, and the
migration of rows written before the vault (plaintext, VARCHAR columns).

Idempotent: a value already under the active key is left alone, so a second run changes
nothing. Each value is updated only if it is still what was read (a concurrent install is
never overwritten). A value that does not open (tampered, unknown key) is counted as failed
and left untouched; the command then exits non-zero and names the rows, not the values.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import Connection, Table, select, update

from .sealed_store import BOT_FIELDS, INSTALLATION_FIELDS, SealedInstallationStore, context_of
from .vault import VaultError, is_sealed, key_id_of


@dataclass
class Counts:
    encrypted: int = 0  # were plaintext
    rewrapped: int = 0  # were under an older key
    current: int = 0  # already under the active key
    failed: list[str] = field(default_factory=list)  # "<table> row <id> <field>: <why>"
    widened: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"encrypted={self.encrypted} rewrapped={self.rewrapped} "
                f"current={self.current} failed={len(self.failed)}")


def reencrypt(store: SealedInstallationStore) -> Counts:
    counts = Counts()
    tables = ((store.installations, INSTALLATION_FIELDS), (store.bots, BOT_FIELDS))
    # Creates missing tables and widens the columns of tables made before the vault.
    counts.widened = store.create_tables()
    for table, fields in tables:
        with store.engine.begin() as conn:
            for row_id, name, value, row in _values(conn, table, fields):
                _reseal_one(store, conn, table, (row_id, name, value, row), counts)
    return counts


def _values(conn: Connection, table: Table,
            fields: tuple[str, ...]) -> Iterator[tuple[int, str, str, dict[str, object]]]:
    for row in conn.execute(select(table)).mappings().all():
        for name in fields:
            if row[name]:
                yield row["id"], name, row[name], dict(row)


def _reseal_one(store: SealedInstallationStore, conn: Connection, table: Table,
                item: tuple[int, str, str, dict[str, object]], counts: Counts) -> None:
    row_id, name, value, row = item
    if is_sealed(value) and key_id_of(value) == store.vault.keys.active:
        counts.current += 1
        return
    context = context_of(str(row["client_id"]), row, name)
    try:
        resealed = store.vault.reseal(value, context)
    except VaultError as exc:
        counts.failed.append(f"{table.name} row {row_id} {name}: {exc}")
        return
    column = table.c[name]
    conn.execute(update(table).where(table.c.id == row_id, column == value)
                 .values({name: resealed}))
    if is_sealed(value):
        counts.rewrapped += 1
    else:
        counts.encrypted += 1


def key_ids_in_use(store: SealedInstallationStore) -> dict[str, int]:
    """How many values each master key id seals ("plaintext" for unsealed ones): a key may
    be removed from VAULT_MASTER_KEYS once it is absent here."""
    seen: dict[str, int] = {}
    tables = ((store.installations, INSTALLATION_FIELDS), (store.bots, BOT_FIELDS))
    with store.engine.connect() as conn:
        for table, fields in tables:
            for _id, _name, value, _row in _values(conn, table, fields):
                kid = key_id_of(value) or "plaintext"
                seen[kid] = seen.get(kid, 0) + 1
    return seen
