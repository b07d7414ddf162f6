"""Who may approve for a team, and which teams a person approves for: pure functions over
the two sources, merged the same way everywhere.

- The workspace directory (`triage-workspaces` KV): each `Workspace` resource's
  `spec.approvers`, published by the operator. The source of truth in Kubernetes.
- `APPROVERS` (settings): `T1:U1` adds U1 to team T1, a bare `U1` to every team. The
  source in the dev stack and single-workspace installs; in Kubernetes it is usually empty.

A team's approvers are the union of both. A union never lets the fallback hide a
Workspace's list, and removing someone from a Workspace takes effect with the next read.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from triage_contracts.workspaces import WorkspaceDirectory

from .principal import Scope


@dataclass(frozen=True)
class StaticApprovers:
    """`APPROVERS` parsed: approvers of every team, and per-team ones."""

    everywhere: frozenset[str] = frozenset()
    per_team: dict[str, frozenset[str]] = field(default_factory=dict)


def parse(text: str) -> StaticApprovers:
    everywhere: set[str] = set()
    per_team: dict[str, set[str]] = {}
    for entry in (part.strip() for part in text.split(",")):
        team, sep, user = entry.partition(":")
        if not entry:
            continue
        if not sep:
            everywhere.add(team)
        elif team and user:
            per_team.setdefault(team, set()).add(user)
    return StaticApprovers(frozenset(everywhere),
                           {team: frozenset(users) for team, users in per_team.items()})


def approvers_for(team_id: str, entry: WorkspaceDirectory | None,
                  static: StaticApprovers) -> frozenset[str]:
    """Everyone who may approve for `team_id`."""
    listed = frozenset(entry.approvers) if entry is not None else frozenset()
    return static.everywhere | static.per_team.get(team_id, frozenset()) | listed


def scope_of(user_id: str, entries: Iterable[WorkspaceDirectory],
             static: StaticApprovers) -> Scope:
    """The teams a person approves for (for tokens that state no team)."""
    if user_id in static.everywhere:
        return Scope(every=True)
    teams = {team for team, users in static.per_team.items() if user_id in users}
    teams |= {entry.team_id for entry in entries if user_id in entry.approvers}
    return Scope(frozenset(teams))


def everyone(entries: Iterable[WorkspaceDirectory], static: StaticApprovers) -> list[str]:
    """Every approver of every team (the sandbox's 'act as' choices)."""
    users = set(static.everywhere).union(*static.per_team.values())
    users = users.union(*(entry.approvers for entry in entries))
    return sorted(users)
