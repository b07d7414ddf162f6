"""What an install event means for the team's Workspace, decided from values only.

`decide(event, existing)` looks at the Workspaces of the event's team (any Workspace whose
`spec.teamId` is that team) and returns one action; `effects.py` performs it. Redelivery
is idempotent by construction: after a create the next `installed` finds the Workspace
and keeps it; after a delete the next removal finds nothing to do.
"""

import copy
from dataclasses import dataclass
from typing import Any

from triage_contracts.messages import InstallEvent, InstallKind

from ..resources import GROUP, KIND, VERSION

API_VERSION = f"{GROUP}/{VERSION}"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
CONTROLLER = "triage-install-controller"
TEAM_LABEL = f"{GROUP}/team-id"
TEAM_NAME_ANNOTATION = f"{GROUP}/team-name"


@dataclass(frozen=True)
class Create:
    manifest: dict[str, Any]


@dataclass(frozen=True)
class Delete:
    names: tuple[str, ...]


@dataclass(frozen=True)
class Leave:
    """Nothing to do; `conflict` names a hand-made Workspace of the team to report on."""

    reason: str
    conflict: str | None = None


Action = Create | Delete | Leave


def workspace_name(team_id: str) -> str:
    """A DNS-1123 name from the team id (`T0ABC` -> `team-t0abc`)."""
    return "team-" + team_id.lower().replace("_", "-")


def ours(workspace: dict[str, Any]) -> bool:
    labels = (workspace.get("metadata") or {}).get("labels") or {}
    return bool(labels.get(MANAGED_BY_LABEL) == CONTROLLER)


def of_team(workspaces: list[dict[str, Any]], team_id: str) -> list[dict[str, Any]]:
    return [w for w in workspaces if (w.get("spec") or {}).get("teamId") == team_id]


def manifest(event: InstallEvent, namespace: str, template: dict[str, Any]) -> dict[str, Any]:
    """The team's Workspace: the template's spec (workers, models...) with its teamId."""
    annotations = {TEAM_NAME_ANNOTATION: event.team_name[:200]} if event.team_name else {}
    return {
        "apiVersion": API_VERSION, "kind": KIND,
        "metadata": {
            "name": workspace_name(event.team_id), "namespace": namespace,
            "labels": {MANAGED_BY_LABEL: CONTROLLER, TEAM_LABEL: event.team_id},
            "annotations": annotations,
        },
        "spec": copy.deepcopy(template) | {"teamId": event.team_id},
    }


def decide(event: InstallEvent, existing: list[dict[str, Any]], namespace: str,
           template: dict[str, Any]) -> Action:
    if event.is_enterprise_install:
        # An org-wide install has no team to deploy for: the shared workers serve it.
        return Leave(f"org-wide install of {event.team_id}: served by the shared workers")
    team = of_team(existing, event.team_id)
    mine = [w["metadata"]["name"] for w in team if ours(w)]
    by_hand = [w["metadata"]["name"] for w in team if not ours(w)]
    if event.install_kind is InstallKind.INSTALLED:
        if by_hand:
            return Leave(f"team {event.team_id} already has a Workspace made by hand",
                         conflict=by_hand[0])
        if mine:
            return Leave(f"team {event.team_id} is deployed already")
        return Create(manifest(event, namespace, template))
    if mine:
        return Delete(tuple(mine))
    if by_hand:
        return Leave(f"team {event.team_id}'s Workspace was made by hand", conflict=by_hand[0])
    return Leave(f"team {event.team_id} has no Workspace to remove")
