"""Assembling the registry from settings: which connectors exist and which tools they give.
Every catalogue tool is registered; those whose prerequisites are missing are disabled
with the reason (see `registry.py`)."""

from triage_contracts.streams import Consumers

from .clients.alertmanager import AlertmanagerClient
from .clients.github import AppInstallation, Credential, GitHubClient, TokenCredential
from .clients.prometheus import PrometheusClient
from .github_tools import github_tools
from .observability_tools import ObservabilityTools
from .outputs import OutputPager
from .registry import ToolRegistry
from .settings import Settings
from .shared_reads import SharedReads


def github_client(settings: Settings) -> GitHubClient:
    return GitHubClient(settings.github_api_url, github_credential(settings),
                        settings.tool_timeout_s, settings.github_bot_login)


def github_credential(settings: Settings) -> Credential:
    """A GitHub App installation when its three settings are given, else the token (or
    anonymous access); the settings refuse a mix of both."""
    if settings.github_app_id is not None:
        assert settings.github_app_private_key and settings.github_app_installation_id
        return AppInstallation(settings.github_api_url, settings.github_app_id,
                               settings.github_app_private_key,
                               settings.github_app_installation_id, settings.tool_timeout_s)
    return TokenCredential(settings.github_token)


def build_registry(settings: Settings, pager: OutputPager | None = None,
                   github: GitHubClient | None = None) -> ToolRegistry:
    timeout = settings.tool_timeout_s
    github = github or github_client(settings)
    prometheus = (PrometheusClient(settings.prometheus_url, timeout)
                  if settings.prometheus_url else None)
    alertmanager = (AlertmanagerClient(settings.alertmanager_url, timeout)
                    if settings.alertmanager_url else None)
    pager = pager or OutputPager(settings.tool_output_chars)
    registry = ToolRegistry(budget_s=0.8 * Consumers.TOOLS.ack_wait,
                            shared=SharedReads(settings.shared_read_ttl_s))
    enabled = set(settings.enabled_tools)
    for tool in [*github_tools(github, settings.github_repos, timeout),
                 *ObservabilityTools(prometheus, alertmanager).tools(timeout),
                 *pager.tools()]:
        # A tool the workspace did not enable is never registered: it cannot run, and a
        # call to it is refused with the reason (`ToolRegistry.get`).
        if not enabled or tool.name in enabled:
            registry.add(tool)
        else:
            registry.withhold(tool.name)
    return registry
