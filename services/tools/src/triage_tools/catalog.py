"""Assembling the registry from settings: which connectors exist and which tools they give."""

from triage_contracts.streams import Consumers

from .clients.github import GitHubClient
from .clients.prometheus import PrometheusClient
from .github_tools import GitHubTools
from .observability_tools import ObservabilityTools
from .registry import ToolRegistry
from .settings import Settings


def build_registry(settings: Settings) -> ToolRegistry:
    timeout = settings.tool_timeout_s
    github = GitHubClient(settings.github_api_url, settings.github_token, timeout)
    prometheus = (PrometheusClient(settings.prometheus_url, timeout)
                  if settings.prometheus_url else None)
    alertmanager = (PrometheusClient(settings.alertmanager_url, timeout, name="Alertmanager")
                    if settings.alertmanager_url else None)
    registry = ToolRegistry(budget_s=0.8 * Consumers.TOOLS.ack_wait)
    for tool in GitHubTools(github, settings.github_repos).tools(timeout):
        registry.add(tool)
    for tool in ObservabilityTools(prometheus, alertmanager).tools(timeout):
        registry.add(tool)
    return registry
