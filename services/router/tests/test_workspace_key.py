"""A Workspace's `secretRefs.openai` takes effect in its own router: the router's settings
are built from exactly the environment the operator renders for the Workspace's router
Deployment (its Secrets resolved as the kubelet would), only the routes file and the
nats-server pointed at the test's. The OpenAI-compatible stand-in on loopback then sees the
team's key on the wire, not the release's; a Workspace without a key of its own gets the
release's (WORKER_OPENAI_SECRET). The router drains the team's own consumer only."""

from pathlib import Path
from typing import Any

import pytest
from nats.js.errors import NotFoundError
from triage_contracts.testing.kube import container_env, data_by_name
from triage_operator.resources import Owner, configmap, deployment
from triage_operator.settings import Settings as OperatorSettings
from triage_operator.spec import parse_spec

TEAM = "T1"
TEAM_KEY = "sk-acme-team-key-0123456789abcdef"
RELEASE_KEY = "sk-release-key-fedcba9876543210"
OWNER = Owner(name="acme", namespace="triage", uid="u1")
SECRETS = {"acme-openai": {"OPENAI_API_KEY": TEAM_KEY},
           "triage-openai": {"api-key": RELEASE_KEY}}


def render(base_url: str, **spec: Any) -> dict[str, str]:
    """The router container's environment as the operator writes it (with the chart's
    WORKER_* settings for the release's key and the model endpoint)."""
    ws = parse_spec(OWNER.name, {"teamId": TEAM, **spec})
    operator = OperatorSettings(  # type: ignore[call-arg]
        _env_file=None, worker_openai_secret="triage-openai", worker_openai_secret_key="api-key",
        worker_openai_base_url=base_url, worker_daily_budget_usd="5",
        worker_routes_config_map="triage-routes")
    worker = deployment(OWNER, ws, operator, "router")
    return container_env(worker, data_by_name([configmap(OWNER, ws)]), SECRETS)


async def answer_one_call(env: dict[str, str], routes_file: Path, start_router: Any,
                          make_call: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ROUTES_FILE", str(routes_file))  # the mounted ConfigMap's stand-in
    call = make_call(route="strict", team=TEAM)  # an openai-only route: the key must work
    # The key and everything else from the environment, as the process would read it.
    async with start_router(openai_api_key=env.get("OPENAI_API_KEY")) as router:
        await router.send(call)
        result = await router.result(call)
        await router.js.consumer_info("WORK", f"router-{TEAM}")  # its team's consumer
        with pytest.raises(NotFoundError):  # and not the shared, all-team one
            await router.js.consumer_info("WORK", "router")
    assert result.ok and result.provider == "openai"


async def test_the_workspaces_own_key_reaches_the_model_vendor(
        standin, routes_file, start_router, make_call, monkeypatch) -> None:
    env = render(standin.base_url, secretRefs={"openai": "acme-openai"})
    assert env["TEAM_SCOPE"] == TEAM and env["OPENAI_BASE_URL"] == standin.base_url
    await answer_one_call(env, routes_file, start_router, make_call, monkeypatch)
    assert standin.auth == [f"Bearer {TEAM_KEY}"]  # the team's key, not the release's


async def test_without_its_own_key_the_workspace_uses_the_releases(
        standin, routes_file, start_router, make_call, monkeypatch) -> None:
    env = render(standin.base_url)
    await answer_one_call(env, routes_file, start_router, make_call, monkeypatch)
    assert standin.auth == [f"Bearer {RELEASE_KEY}"]
