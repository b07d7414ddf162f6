"""The service's own HTTP API: the tool catalogue (names, JSON schemas, access class, and
whether each tool is enabled here or why not), the `service` label of each repository's
metrics, and the output budget, which the orchestrator, the docs and a curious operator all
read from one place."""

from typing import Any

from fastapi import APIRouter

from .registry import ToolRegistry
from .settings import Settings


def api_router(registry: ToolRegistry, settings: Settings) -> APIRouter:
    router = APIRouter()

    @router.get("/tools")
    async def list_tools() -> dict[str, Any]:
        return {"tools": registry.describe(), "service_labels": settings.labels_by_repo(),
                "output_chars": settings.tool_output_chars}

    return router
