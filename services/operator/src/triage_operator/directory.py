"""The workspace directory: each Workspace's approvers, model routes and daily budget,
published where the shared services read them (`WorkspaceDirectory` under the team's key in
the `triage-workspaces` KV bucket: approval reads the approvers, the router the routes and
the budget), so they live in the Workspace resource and nowhere else.

The entry is also the team's claim: the Workspace it names owns the team's consumers and
entry, and a second Workspace with the same `teamId` is refused (`claim` returns the
holder) instead of sharing, and later deleting, what the first one runs. Claims are
compare-and-set on the KV revision, so two reconciles racing for a team cannot both win.

Written on every reconcile (create, update, resume, resync: drift heals like consumers do)
and withdrawn when the Workspace is deleted or moves to another `teamId`. A withdrawal
only removes an entry this Workspace wrote, never another Workspace's entry for the same
team. NATS being away is `NatsUnavailable` (retried with backoff by the handler).
"""

from nats.errors import Error as NatsError
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import ValidationError
from triage_contracts.natsauth import NatsAuth
from triage_contracts.streams import Buckets
from triage_contracts.workspaces import RouteTarget, WorkspaceDirectory, directory_key

from .consumers import NatsUnavailable, jetstream
from .spec import WorkspaceSpec


def entry(name: str, ws: WorkspaceSpec) -> WorkspaceDirectory:
    """What the directory says about this Workspace (pure)."""
    routes = {route: [RouteTarget(provider=t.provider, model=t.model) for t in targets]
              for route, targets in ws.model_routes.items()}
    return WorkspaceDirectory(team_id=ws.team_id, workspace=name, approvers=list(ws.approvers),
                              model_routes=routes, budget_usd_per_day=ws.budget_usd_per_day)


async def _read(kv: KeyValue, key: str) -> tuple[WorkspaceDirectory | None, int]:
    """The entry and its revision (0: none); an unreadable entry counts as nobody's."""
    try:
        found = await kv.get(key)
    except (KeyNotFoundError, KeyDeletedError):
        return None, 0
    try:
        return WorkspaceDirectory.model_validate_json(found.value or b""), found.revision or 0
    except ValidationError:
        return None, found.revision or 0


async def claim(url: str, name: str, ws: WorkspaceSpec, wait_s: float, auth: NatsAuth,
                stale: str | None = None) -> str | None:
    """Write this Workspace's entry if the team is free, already ours, or held by `stale`
    (a Workspace the caller found gone). Returns the other holder's name, untouched, when
    the team belongs to another Workspace."""
    value = entry(name, ws).model_dump_json().encode()
    key = directory_key(ws.team_id)
    try:
        async with jetstream(url, wait_s, auth) as js:
            kv = await js.key_value(Buckets.WORKSPACES.name)
            current, revision = await _read(kv, key)
            holder = current.workspace if current else None
            if holder not in (None, name, stale):
                return holder
            if revision:
                await kv.update(key, value, last=revision)
            else:
                await kv.create(key, value)
    except KeyWrongLastSequenceError as exc:  # someone wrote in between: look again later
        raise NatsUnavailable(f"team {ws.team_id} claimed concurrently; retrying") from exc
    except (NatsError, TimeoutError) as exc:
        raise NatsUnavailable(f"workspace directory not written: {exc or type(exc).__name__}"
                              ) from exc
    return None


async def holder(url: str, team_id: str, wait_s: float, auth: NatsAuth) -> str | None:
    """The Workspace that holds the team's claim, if any."""
    try:
        async with jetstream(url, wait_s, auth) as js:
            kv = await js.key_value(Buckets.WORKSPACES.name)
            current, _ = await _read(kv, directory_key(team_id))
    except (NatsError, TimeoutError) as exc:
        raise NatsUnavailable(f"workspace directory not read: {exc or type(exc).__name__}"
                              ) from exc
    return current.workspace if current else None


async def withdraw(url: str, name: str, team_id: str, wait_s: float, auth: NatsAuth
                   ) -> None:
    try:
        async with jetstream(url, wait_s, auth) as js:
            kv = await js.key_value(Buckets.WORKSPACES.name)
            key = directory_key(team_id)
            current, revision = await _read(kv, key)
            # Unreadable (current None with a revision): nobody's entry, remove it.
            if revision and (current is None or current.workspace == name):
                await kv.delete(key)
    except (NatsError, TimeoutError) as exc:
        raise NatsUnavailable(f"workspace directory not updated: {exc or type(exc).__name__}"
                              ) from exc
