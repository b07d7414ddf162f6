"""The service's own HTTP API: the tool catalogue (names, JSON schemas, access class), which
the orchestrator, the docs and a curious operator all read from one place."""

from typing import Any

from fastapi import APIRouter

from .registry import ToolRegistry


def api_router(registry: ToolRegistry) -> APIRouter:
    router = APIRouter()

    @router.get("/tools")
    async def list_tools() -> dict[str, Any]:
        return {"tools": registry.describe()}

    return router
