"""Performing what `decide.py` chose against the Kubernetes API, and reporting it.

Every step is safe to repeat (a redelivered event): a create that meets an existing name
changes nothing, a delete of a gone Workspace is no error, and the status writes only
move the phase forward (Installed is written only if nobody wrote the Workspace since its
creation, so it never hides the operator's Ready or Degraded).
"""

from datetime import UTC, datetime
from typing import Any

from triage_contracts.ids import stable_id
from triage_contracts.logs import get_logger
from triage_contracts.messages import InstallEvent

from ..clients.kube import KubeClient
from ..resources import KIND
from ..status import INSTALLED, UNINSTALLING
from .decide import API_VERSION, CONTROLLER, Action, Create, Delete, Leave, decide

log = get_logger("triage.operator.install")


class InstallController:
    def __init__(self, kube: KubeClient, namespace: str, template: dict[str, Any]) -> None:
        self.kube = kube
        self.namespace = namespace
        self.template = template

    async def handle(self, event: InstallEvent) -> Action:
        existing = await self.kube.items(API_VERSION, KIND, self.namespace)
        action = decide(event, existing, self.namespace, self.template)
        if isinstance(action, Create):
            await self._create(event, action.manifest)
        elif isinstance(action, Delete):
            await self._delete(event, action.names)
        else:
            await self._leave(event, action)
        return action

    async def _create(self, event: InstallEvent, manifest: dict[str, Any]) -> None:
        name = manifest["metadata"]["name"]
        created = await self.kube.create(manifest)
        if created is None:  # the name is taken by a Workspace of another team
            await self._leave(event, Leave(f"the name {name} is taken", conflict=name))
            return
        version = (created.get("metadata") or {}).get("resourceVersion")
        await self.kube.patch_status(API_VERSION, KIND, self.namespace, name,
                                     {"phase": INSTALLED}, version)
        log.info("workspace created for an install", team_id=event.team_id, workspace=name)

    async def _delete(self, event: InstallEvent, names: tuple[str, ...]) -> None:
        for name in names:
            # Shown while the operator's cleanup runs (its finalizer holds the object).
            await self.kube.patch_status(API_VERSION, KIND, self.namespace, name,
                                         {"phase": UNINSTALLING})
            await self.kube.delete(API_VERSION, KIND, self.namespace, name)
            log.info("workspace deleted after a removal", team_id=event.team_id,
                     workspace=name, kind=event.install_kind.value)

    async def _leave(self, event: InstallEvent, action: Leave) -> None:
        if action.conflict is None:
            log.info("install event changes nothing", team_id=event.team_id,
                     reason=action.reason)
            return
        log.warning("install event left a Workspace alone", team_id=event.team_id,
                    workspace=action.conflict, reason=action.reason)
        await self.kube.create(conflict_event(self.namespace, action.conflict, event,
                                              action.reason))


def conflict_event(namespace: str, workspace: str, event: InstallEvent,
                   reason: str) -> dict[str, Any]:
    """A Kubernetes Event on the Workspace (`kubectl describe` shows it), one per install
    event: a redelivery re-creates the same name, which the API refuses harmlessly."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": stable_id(f"{workspace}.", event.event_id),
                     "namespace": namespace},
        "involvedObject": {"apiVersion": API_VERSION, "kind": KIND, "name": workspace,
                           "namespace": namespace},
        "reason": "InstallConflict", "type": "Warning",
        "message": f"{event.install_kind.value}: {reason}; left alone"[:1000],
        "source": {"component": CONTROLLER}, "firstTimestamp": now, "lastTimestamp": now,
        "count": 1,
    }
