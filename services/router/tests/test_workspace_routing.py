"""A Workspace's `modelRoutes` and `budgetUsdPerDay` take effect in the shared router: the
operator publishes them to the workspace directory (its own `directory.claim`, as its own
NATS identity, on the real nats-server) and the router, as its identity, routes and budgets
that team's calls by them. Other teams keep the routes file and DAILY_BUDGET_USD; an edit
applies to the next call; withdrawing the entry restores the defaults."""

from typing import Any

import pytest
from triage_contracts.messages import ModelCall, ModelResult
from triage_contracts.natsauth import nats_auth
from triage_contracts.workspaces import RouteTarget, WorkspaceDirectory
from triage_operator import directory
from triage_operator.settings import Settings as OperatorSettings
from triage_operator.spec import parse_spec
from triage_router.routes import load_routes
from triage_router.settings import DEFAULT_ROUTES_FILE
from triage_router.teams import routing

OFFLINE = {"provider": "offline", "model": "offline-rules-1"}


def operator_auth() -> Any:
    return nats_auth(OperatorSettings(_env_file=None))  # type: ignore[call-arg]


async def publish_workspace(nats_url: str, **spec: Any) -> None:
    """What the operator does on each reconcile of Workspace `acme` for team T1."""
    ws = parse_spec("acme", {"teamId": "T1", **spec})
    assert await directory.claim(nats_url, "acme", ws, 5.0, operator_auth()) is None


async def ask(router: Any, *calls: ModelCall) -> list[ModelResult]:
    results = []
    for call in calls:  # one after the other: the budget sees them in order
        await router.send(call)
        results.append(await router.result(call))
    return results


async def test_a_workspace_route_replaces_the_files_route_for_its_team_only(
    nats_url, start_router, make_call, standin, with_key
) -> None:
    await publish_workspace(nats_url, modelRoutes={"strict": [OFFLINE]})
    ours, theirs = make_call(route="strict", answered=True), make_call(
        route="strict", answered=True, team="T2")
    async with start_router(**with_key) as router:
        answered = await ask(router, ours, theirs)
    assert answered[0].ok and answered[0].provider == "offline"  # the Workspace's route
    assert answered[1].ok and answered[1].provider == "openai"  # the routes file's
    assert len(standin.requests) == 1


async def test_the_workspace_budget_is_the_teams_daily_limit_and_edits_apply_at_once(
    nats_url, start_router, make_call, standin, with_key
) -> None:
    await publish_workspace(nats_url, budgetUsdPerDay=0.01)
    first, other_team, after_edit = (make_call(route="strict"), make_call(route="strict",
                                     team="T2"), make_call(route="strict"))
    async with start_router(**with_key, daily_budget_usd=50) as router:
        refused, answered = await ask(router, first, other_team)
        await publish_workspace(nats_url, budgetUsdPerDay=20)
        [raised] = await ask(router, after_edit)
        audit = await router.audit("T1", 2)
    assert refused.ok is False and refused.error_code == "team_budget"
    assert refused.error is not None and refused.error.endswith(
        "daily model budget of $0.01")
    assert answered.ok and answered.provider == "openai"  # DAILY_BUDGET_USD for the others
    assert raised.ok and raised.provider == "openai"
    assert sorted(e.outcome for e in audit) == ["ok", "team_budget"]
    assert len(standin.requests) == 2


async def test_a_model_the_routes_file_does_not_price_is_refused_until_withdrawn(
    nats_url, start_router, make_call, standin, with_key
) -> None:
    unpriced = {"provider": "openai", "model": "gpt-unpriced"}
    await publish_workspace(nats_url, modelRoutes={"strict": [unpriced, OFFLINE]})
    refused_call, default_call = make_call(route="strict"), make_call(route="strict")
    async with start_router(**with_key) as router:
        [refused] = await ask(router, refused_call)
        await directory.withdraw(nats_url, "acme", "T1", 5.0, operator_auth())
        [answered] = await ask(router, default_call)
    assert refused.ok is False and refused.error_code == "unknown_route"
    assert refused.error == ("the Workspace's route 'strict' names models the routes file "
                             "does not price: openai:gpt-unpriced")
    assert answered.ok and answered.provider == "openai"
    assert len(standin.requests) == 1


@pytest.mark.parametrize("route", ["agent", "classify"])
async def test_workspace_targets_take_price_and_cap_from_the_file(route: str) -> None:
    shared = load_routes(DEFAULT_ROUTES_FILE)
    entry = WorkspaceDirectory(team_id="T1", workspace="acme", model_routes={
        route: [RouteTarget(provider="openai", model="gpt-4o-mini")]})
    found = routing(route, entry, shared, 5.0)
    assert found.targets == [shared.routes[route][0]]  # the same route's target first
    assert found.limit_usd == 5.0  # an entry without a budget: the router's
