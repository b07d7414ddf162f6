"""What a team's Workspace changes in routing: its model routes and its daily budget, read
from the operator's entry in the `triage-workspaces` KV bucket (`triage_contracts.workspaces`).

The entry is read fresh for every call, so a Workspace edit applies to the next call. A team
without an entry (no operator, or a shared deployment) gets the routes file and
DAILY_BUDGET_USD. A route the Workspace names replaces the file's route of that name; the
others stay the file's. A Workspace names models, never prices: each of its targets takes
price, max_tokens and streaming from the file's target of the same provider and model
(preferably in the same route), and a model the file does not price is refused, since an
unpriced call would escape the budget.
"""

from dataclasses import dataclass

from nats.js.kv import KeyValue
from triage_contracts.bus import TRANSIENT_NATS_ERRORS
from triage_contracts.errors import TemporaryError
from triage_contracts.workspaces import RouteTarget, WorkspaceDirectory, directory_key, read_entry

from .routes import RoutesConfig, Target


@dataclass(frozen=True)
class TeamRouting:
    """The targets of one call's route (None: no such route, `problem` says why) and the
    team's daily limit."""

    targets: list[Target] | None
    limit_usd: float
    problem: str | None = None


async def team_entry(kv: KeyValue, team_id: str) -> WorkspaceDirectory | None:
    try:
        return await read_entry(kv, directory_key(team_id))
    except TRANSIENT_NATS_ERRORS as exc:  # JetStream redelivers the call
        raise TemporaryError(f"workspace directory unavailable: {type(exc).__name__}") from exc


def routing(route: str, entry: WorkspaceDirectory | None, shared: RoutesConfig,
            default_limit_usd: float) -> TeamRouting:
    limit = default_limit_usd
    if entry is not None and entry.budget_usd_per_day is not None:
        limit = entry.budget_usd_per_day
    own = entry.model_routes.get(route) if entry is not None else None
    if own is None:
        targets = shared.get(route)
        problem = None if targets else f"unknown route {route!r} (known: {_known(shared, entry)})"
        return TeamRouting(targets, limit, problem)
    priced = [_priced(route, wanted, shared) for wanted in own]
    unpriced = [f"{w.provider}:{w.model}" for w, t in zip(own, priced, strict=True) if t is None]
    if unpriced:
        return TeamRouting(None, limit, f"the Workspace's route {route!r} names models the "
                           f"routes file does not price: {', '.join(unpriced)}")
    return TeamRouting([t for t in priced if t is not None], limit)


def _priced(route: str, wanted: RouteTarget, shared: RoutesConfig) -> Target | None:
    same = [t for t in shared.get(route) or [] if (t.provider, t.model) == (wanted.provider,
                                                                           wanted.model)]
    anywhere = [t for targets in shared.routes.values() for t in targets
                if (t.provider, t.model) == (wanted.provider, wanted.model)]
    found = same or anywhere
    return found[0] if found else None


def _known(shared: RoutesConfig, entry: WorkspaceDirectory | None) -> str:
    names = set(shared.routes) | set(entry.model_routes if entry is not None else ())
    return ", ".join(sorted(names))
