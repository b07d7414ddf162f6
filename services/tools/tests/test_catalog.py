"""The catalogue and settings: what the orchestrator and operators read to know the tools,
whether each one can run here (and what to set when it cannot), and the `service` label of
each repository's metrics."""

from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from triage_contracts.messages import ToolStatus
from triage_contracts.tools import CATALOGUE, Access
from triage_tools.app import build_app
from triage_tools.settings import Settings

REPOS = ["demo-org/checkout-api", "demo-org/payments-api"]
EXPECTED_SCOPES = {
    "github.search_issues": ["issues:read", "pull_requests:read"],
    "github.get_pull": ["pull_requests:read"],
    "github.recent_commits": ["contents:read"],
    "github.commit_pulls": ["contents:read", "pull_requests:read"],
    "github.workflow_runs": ["actions:read"],
    "github.job_log": ["actions:read"],
    "github.search_code": ["contents:read"],
    "github.comment_issue": ["issues:write"],
    "prometheus.query_range": [],
}


async def get_tools(settings: Settings) -> dict[str, Any]:
    app = build_app(settings)  # no I/O: no NATS needed
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://tools") as client:
        response = await client.get("/tools")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


async def test_get_tools_lists_every_catalogue_tool_with_schema_and_class() -> None:
    body = await get_tools(Settings(github_repos=REPOS))
    tools = {t["name"]: t for t in body["tools"]}
    assert set(tools) == {c.name for c in CATALOGUE} and len(tools) == 19
    for contract in CATALOGUE:
        tool = tools[contract.name]
        assert tool["access"] == contract.access.value
        assert tool["parameters"] == contract.arguments.model_json_schema()
        assert tool["parameters"]["additionalProperties"] is False
        assert tool["description"] == contract.description and tool["timeout_s"] > 0
        if contract.name.startswith("github.") and contract.access is Access.READ:
            # GitHub reads: the token's shared quota governs, and identical reads share.
            assert tool["rate_limit"] is None and tool["shared_reads"] is True
        else:
            assert tool["rate_limit"]["per_second"] > 0
    for name, scopes in EXPECTED_SCOPES.items():
        assert tools[name]["scopes"] == scopes, name
    assert tools["github.search_issues"]["parameters"]["required"] == ["repo", "query"]
    assert set(tools["github.recent_commits"]["parameters"]["properties"]) == {
        "repo", "limit", "since", "until", "path", "branch"}
    assert body["output_chars"] == 12_000


async def test_toolsets_report_what_they_need() -> None:
    tools = {t["name"]: t for t in (await get_tools(Settings(github_repos=REPOS)))["tools"]}
    status = {name: (t["status"], t["disabled_reason"]) for name, t in tools.items()}
    assert status["github.get_issue"] == ("enabled", None)
    assert status["output.page"] == ("enabled", None)
    for name in ("prometheus.query", "prometheus.query_range", "prometheus.series",
                 "prometheus.label_values", "prometheus.alerts"):
        assert status[name] == ("disabled", "PROMETHEUS_URL is unset")
    assert status["alertmanager.alerts"] == ("disabled", "ALERTMANAGER_URL is unset")
    # No token is no reason: anonymous access works where the server allows it.
    assert status["github.comment_issue"] == status["github.search_code"] == ("enabled", None)

    nothing = {t["name"]: t for t in (await get_tools(Settings()))["tools"]}
    assert nothing["github.list_issues"]["disabled_reason"] == (
        "GITHUB_REPOS is empty: set the repositories the agent may read")
    configured = {t["name"]: t["status"] for t in (await get_tools(Settings(
        github_repos=REPOS, prometheus_url="http://prometheus:9090",
        alertmanager_url="http://alertmanager:9093")))["tools"]}
    assert set(configured.values()) == {"enabled"}


async def test_a_disabled_tool_called_anyway_says_what_to_set(start_tools: Any,
                                                              settings: Settings) -> None:
    unset = settings.model_copy(update={"prometheus_url": None})
    async with start_tools(unset) as tools:
        result = await tools.call("prometheus.query_range", {"query": "up"})
    assert result.status == ToolStatus.ERROR
    assert result.error == "prometheus.query_range is disabled: PROMETHEUS_URL is unset"


async def test_the_workspace_tool_list_narrows_the_catalogue(start_tools: Any,
                                                              settings: Settings) -> None:
    only = "github.workflow_runs,github.recent_commits"
    body = await get_tools(Settings(github_repos=REPOS, enabled_tools=only))
    assert {t["name"] for t in body["tools"]} == set(only.split(","))
    narrowed = settings.model_copy(update={"enabled_tools": only.split(",")})
    async with start_tools(narrowed) as tools:
        result = await tools.call("github.comment_issue", {
            "repo": "demo-org/checkout-api", "issue_number": 42, "body": "x"})
    assert result.status == ToolStatus.ERROR and "tool 'github.comment_issue' is not enabled " \
        "for this workspace" in str(result.error)


async def test_service_labels_default_to_the_repository_name() -> None:
    body = await get_tools(Settings(github_repos=REPOS,
                                    service_labels={"demo-org/payments-api": "payments"}))
    assert body["service_labels"] == {"demo-org/checkout-api": "checkout-api",
                                      "demo-org/payments-api": "payments"}


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_REPOS", "demo-org/checkout-api, demo-org/payments-api,")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_FromTheEnvironment0123456789")
    monkeypatch.setenv("GITHUB_API_URL", "https://ghe.example.com/api/v3")
    monkeypatch.setenv("PROMETHEUS_URL", "")
    monkeypatch.setenv("TOOL_TIMEOUT_S", "7.5")
    settings = Settings()
    assert settings.github_repos == ["demo-org/checkout-api", "demo-org/payments-api"]
    assert settings.github_token is not None
    assert settings.github_token.get_secret_value() == "ghp_FromTheEnvironment0123456789"
    assert "FromTheEnvironment" not in repr(settings)
    assert settings.github_api_url == "https://ghe.example.com/api/v3"
    assert settings.prometheus_url is None  # "" from a template means unset
    assert settings.tool_timeout_s == 7.5


def test_service_labels_and_output_budget_from_a_dotenv_file(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("GITHUB_REPOS=demo-org/checkout-api,demo-org/payments-api\n"
                   "SERVICE_LABELS=demo-org/checkout-api=checkout-api, "
                   "Demo-Org/Payments-API = payments,\n"
                   "TOOL_OUTPUT_CHARS=8000\n")
    settings = Settings(_env_file=env)  # type: ignore[call-arg]
    assert settings.tool_output_chars == 8000
    assert settings.labels_by_repo() == {"demo-org/checkout-api": "checkout-api",
                                         "demo-org/payments-api": "payments"}


@pytest.mark.parametrize(("labels", "problem"), [
    ("demo-org/secrets=vault", "demo-org/secrets: not in GITHUB_REPOS"),
    ('demo-org/checkout-api=checkout"}', "is not a plain label value"),
    ("demo-org/checkout-api", "expected owner/name=label pairs"),
])
def test_service_labels_are_validated(labels: str, problem: str) -> None:
    with pytest.raises(ValidationError, match="service_labels|SERVICE_LABELS") as caught:
        Settings.model_validate({"github_repos": ["demo-org/checkout-api"],
                                 "service_labels": labels})
    assert problem in str(caught.value)


def test_production_refuses_to_start_without_grant_public_keys() -> None:
    with pytest.raises(ValueError, match="GRANT_PUBLIC_KEYS"):
        build_app(Settings(environment="production"))
