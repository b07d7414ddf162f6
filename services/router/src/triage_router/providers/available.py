"""Which providers exist in this process: offline always, OpenAI only with a key.

A provider missing here makes its targets "unconfigured", and the router skips them."""

from ..settings import Settings
from .base import Provider
from .offline import OfflineProvider
from .openai import OpenAIProvider

_UNCONFIGURED = {"openai": "OPENAI_API_KEY is not set"}


def build_providers(settings: Settings) -> dict[str, Provider]:
    providers: dict[str, Provider] = {"offline": OfflineProvider()}
    if settings.openai_api_key is not None:
        providers["openai"] = OpenAIProvider(
            settings.openai_api_key, settings.openai_base_url, settings.model_timeout_s)
    return providers


def unconfigured_reason(provider: str) -> str:
    return _UNCONFIGURED.get(provider, f"provider {provider!r} is not configured")
