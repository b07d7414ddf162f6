"""A Workspace's `tools`, `githubRepos` and `secretRefs.github` take effect in its tools
worker: the service's settings are built from exactly the environment the operator renders
(its Deployment, ConfigMap and the Workspace's GitHub Secret, resolved as the kubelet
would), only the addresses pointed at the stand-ins and the test's nats-server. On the real
bus, a tool outside the list is refused with the reason and audited, and so is a
repository outside the list."""

from typing import Any

import pytest
from triage_contracts.messages import AuditKind, ToolStatus
from triage_contracts.testing.kube import container_env, data_by_name
from triage_operator.resources import Owner, configmap, deployment
from triage_operator.settings import Settings as OperatorSettings
from triage_operator.spec import parse_spec
from triage_tools.settings import Settings

from .conftest import GITHUB_TOKEN, REPOS, TEAM

CHECKOUT, PAYMENTS = REPOS
OWNER = Owner(name="acme", namespace="triage", uid="u1")
SPEC = {"teamId": TEAM, "tools": ["github.search_issues", "github.get_issue"],
        "githubRepos": [CHECKOUT], "secretRefs": {"github": "acme-github"}}
SECRETS = {"acme-github": {"GITHUB_TOKEN": GITHUB_TOKEN}}


def rendered_settings(base: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    ws = parse_spec(OWNER.name, SPEC)
    worker = deployment(OWNER, ws, OperatorSettings(_env_file=None), "tools")  # type: ignore[call-arg]
    env = container_env(worker, data_by_name([configmap(OWNER, ws)]), SECRETS)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None, nats_url=base.nats_url,  # type: ignore[call-arg]
                    github_api_url=base.github_api_url, prometheus_url=base.prometheus_url,
                    alertmanager_url=base.alertmanager_url,
                    grant_public_keys=base.grant_public_keys)


async def test_the_workspace_allow_lists_are_enforced_and_audited(
        settings: Settings, start_tools: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ours = rendered_settings(settings, monkeypatch)
    assert ours.github_token is not None  # from the Workspace's Secret, by envFrom
    assert ours.github_token.get_secret_value() == GITHUB_TOKEN
    async with start_tools(ours) as tools:
        allowed = await tools.call("github.search_issues", {"repo": CHECKOUT, "query": "502"})
        withheld = tools.tool_call("github.recent_commits", {"repo": CHECKOUT})
        await tools.send(withheld)
        refused = await tools.result(withheld)
        other_repo = await tools.call("github.search_issues", {"repo": PAYMENTS, "query": "x"})
        [event] = await tools.audit(withheld.run_id, 1)

    assert allowed.status == ToolStatus.SUCCESS
    assert refused.status == ToolStatus.ERROR and refused.error is not None
    assert refused.error.startswith("tool 'github.recent_commits' is not enabled for this "
                                    "workspace (ENABLED_TOOLS, the Workspace's spec.tools)")
    assert "github.search_issues" in refused.error  # the model learns what it may use
    assert event.audit_kind == AuditKind.TOOL_CALL and event.outcome == "error"
    assert event.detail["error"] == refused.error
    assert other_repo.status == ToolStatus.ERROR and other_repo.error is not None
    assert f"repo '{PAYMENTS}' is not in GITHUB_REPOS" in other_repo.error
