"""The catalogue and settings: what the orchestrator and operators read to know the tools."""

import httpx
import pytest
from triage_tools.app import build_app
from triage_tools.settings import Settings

EXPECTED = {
    "github.search_issues": ("read", {"repo", "query", "state", "limit"}),
    "github.recent_commits": ("read", {"repo", "limit"}),
    "github.workflow_runs": ("read", {"repo", "limit"}),
    "github.comment_issue": ("write", {"repo", "issue_number", "body"}),
    "prometheus.query": ("read", {"query"}),
    "alertmanager.alerts": ("read", {"active_only", "limit"}),
}


async def test_get_tools_lists_every_tool_with_schema_and_class() -> None:
    app = build_app(Settings(github_repos=["demo-org/checkout-api"]))  # no I/O: no NATS needed
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://tools") as client:
        response = await client.get("/tools")
    assert response.status_code == 200
    tools = {t["name"]: t for t in response.json()["tools"]}
    assert set(tools) == set(EXPECTED)
    for name, (access, fields) in EXPECTED.items():
        tool = tools[name]
        assert tool["access"] == access
        assert set(tool["parameters"]["properties"]) == fields
        assert tool["parameters"]["additionalProperties"] is False
        assert tool["description"] and tool["timeout_s"] > 0
    assert tools["github.comment_issue"]["scopes"] == ["issues:write"]
    assert tools["github.search_issues"]["parameters"]["required"] == ["repo", "query"]
    assert tools["github.search_issues"]["parameters"]["properties"]["state"]["enum"] == [
        "open", "closed", "all"]


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


def test_production_refuses_the_development_signing_key() -> None:
    with pytest.raises(ValueError, match="APPROVAL_SIGNING_KEY"):
        build_app(Settings(environment="production"))
