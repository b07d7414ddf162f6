"""The workspace directory: each Workspace's approvers, published where the approval
service reads them (`WorkspaceDirectory` under the team's key in the `triage-workspaces`
KV bucket), so approver lists live in the Workspace resource and nowhere else.

Written on every reconcile (create, update, resume, resync: drift heals like consumers do)
and withdrawn when the Workspace is deleted or moves to another `teamId`. A withdrawal
only removes an entry this Workspace wrote, never another Workspace's entry for the same
team. NATS being away is `NatsUnavailable` (retried with backoff by the handler).
"""

from nats.errors import Error as NatsError
from nats.js.errors import KeyDeletedError, KeyNotFoundError
from pydantic import ValidationError
from triage_contracts.natsauth import NatsAuth
from triage_contracts.streams import Buckets
from triage_contracts.workspaces import WorkspaceDirectory, directory_key

from .consumers import NatsUnavailable, jetstream
from .spec import WorkspaceSpec


def entry(name: str, ws: WorkspaceSpec) -> WorkspaceDirectory:
    """What the directory says about this Workspace (pure)."""
    return WorkspaceDirectory(team_id=ws.team_id, workspace=name, approvers=list(ws.approvers))


async def publish(url: str, name: str, ws: WorkspaceSpec, wait_s: float, auth: NatsAuth
                  ) -> None:
    try:
        async with jetstream(url, wait_s, auth) as js:
            kv = await js.key_value(Buckets.WORKSPACES.name)
            await kv.put(directory_key(ws.team_id), entry(name, ws).model_dump_json().encode())
    except (NatsError, TimeoutError) as exc:
        raise NatsUnavailable(f"workspace directory not written: {exc or type(exc).__name__}"
                              ) from exc


async def withdraw(url: str, name: str, team_id: str, wait_s: float, auth: NatsAuth
                   ) -> None:
    try:
        async with jetstream(url, wait_s, auth) as js:
            kv = await js.key_value(Buckets.WORKSPACES.name)
            key = directory_key(team_id)
            try:
                current = WorkspaceDirectory.model_validate_json((await kv.get(key)).value or b"")
            except (KeyNotFoundError, KeyDeletedError):
                return  # nothing to withdraw
            except ValidationError:
                current = None  # unreadable: nobody's entry, remove it
            if current is None or current.workspace == name:
                await kv.delete(key)
    except (NatsError, TimeoutError) as exc:
        raise NatsUnavailable(f"workspace directory not updated: {exc or type(exc).__name__}"
                              ) from exc
