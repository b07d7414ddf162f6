"""The approver directory as the approval service reads it: the operator's per-team
entries in the `triage-workspaces` KV bucket, merged with `APPROVERS` (rules in
`approvers.py`).

A decision reads its team's entry fresh, so an approver removed from a Workspace cannot
approve a moment later. The list of teams a person approves for (needed only when their
token states no team) scans every entry, so that snapshot is reused for
`DIRECTORY_CACHE_SECONDS`; the sweep refreshes it every round.

While NATS is unreachable the last snapshot stands in, for at most
`DIRECTORY_STALE_SECONDS`: the operator cannot change the directory during the outage
either, so it is as current as the bucket itself (minus one sweep interval). Older than
that, or never read, a decision is refused as a TemporaryError (503): nobody is let in on
a guess.
"""

import time

from faststream.nats import NatsBroker
from nats import errors as nats_errors
from nats.js.kv import KeyValue
from triage_contracts.bus import TRANSIENT_NATS_ERRORS, jetstream, kv_keys
from triage_contracts.errors import TemporaryError
from triage_contracts.logs import get_logger
from triage_contracts.streams import Buckets
from triage_contracts.workspaces import WorkspaceDirectory, directory_key, read_entry

from . import approvers
from .approvers import StaticApprovers
from .principal import Scope

log = get_logger("triage.approval.directory")
NATS_FAILURES: tuple[type[Exception], ...] = (*TRANSIENT_NATS_ERRORS, nats_errors.Error)


class DirectoryUnavailable(TemporaryError):
    """The workspace directory cannot be read right now."""


class Directory:
    def __init__(self, broker: NatsBroker, static: StaticApprovers, cache_seconds: float,
                 stale_seconds: float) -> None:
        self.broker = broker
        self.static = static
        self.cache_seconds = cache_seconds
        self.stale_seconds = stale_seconds
        self._snapshot: tuple[float, list[WorkspaceDirectory]] | None = None

    async def approvers(self, team_id: str) -> frozenset[str]:
        """Who may approve for `team_id` now (read fresh; the last snapshot while NATS is
        unreachable)."""
        try:
            entry = await self._entry(team_id)
        except DirectoryUnavailable:
            entry = next((e for e in self._last_known() if e.team_id == team_id), None)
        return approvers.approvers_for(team_id, entry, self.static)

    async def scope_of(self, user_id: str) -> Scope:
        """The teams `user_id` approves for (cached snapshot of every entry)."""
        return approvers.scope_of(user_id, await self.entries(), self.static)

    async def everyone(self) -> list[str]:
        return approvers.everyone(await self.entries(), self.static)

    async def entries(self) -> list[WorkspaceDirectory]:
        if self._snapshot is not None and self._age() < self.cache_seconds:
            return self._snapshot[1]
        try:
            return await self.refresh()
        except DirectoryUnavailable:
            return self._last_known()

    async def refresh(self) -> list[WorkspaceDirectory]:
        """Read every entry now (the sweep calls this each round)."""
        entries = await self._read_all()
        self._snapshot = (time.monotonic(), entries)
        return entries

    def _last_known(self) -> list[WorkspaceDirectory]:
        if self._snapshot is None or self._age() > self.stale_seconds:
            raise DirectoryUnavailable("workspace directory unavailable (NATS unreachable) "
                                       "and no recent copy of it")
        log.warning("NATS unreachable: using the workspace directory as last read",
                    age_s=round(self._age(), 1))
        return self._snapshot[1]

    def _age(self) -> float:
        return time.monotonic() - self._snapshot[0] if self._snapshot else float("inf")

    async def _entry(self, team_id: str) -> WorkspaceDirectory | None:
        try:
            return await read_entry(await self._bucket(), directory_key(team_id))
        except NATS_FAILURES as exc:
            raise DirectoryUnavailable(f"workspace directory unavailable: "
                                       f"{type(exc).__name__}") from exc

    async def _read_all(self) -> list[WorkspaceDirectory]:
        try:
            kv = await self._bucket()
            keys = await kv_keys(jetstream(self.broker), Buckets.WORKSPACES.name)
            entries = [await read_entry(kv, key) for key in keys]
        except NATS_FAILURES as exc:
            raise DirectoryUnavailable(f"workspace directory unavailable: "
                                       f"{type(exc).__name__}") from exc
        return [entry for entry in entries if entry is not None]

    async def _bucket(self) -> KeyValue:
        return await jetstream(self.broker).key_value(Buckets.WORKSPACES.name)

