"""Operator endpoint: the JSON state of one run, for debugging. Redacted (the state holds
the approval grant's signature, and tool output may contain anything)."""

from typing import Any

from fastapi import APIRouter
from triage_contracts import subjects
from triage_contracts.errors import ErrorCode, PermanentError
from triage_contracts.redact import redact

from .runner import Orchestrator


def runs_router(orchestrator: Orchestrator) -> APIRouter:
    router = APIRouter()

    @router.get("/runs/{team_id}/{run_id}")
    async def get_run(team_id: str, run_id: str) -> dict[str, Any]:
        subjects.token(team_id), subjects.token(run_id)  # 400 with the reason otherwise
        state = await orchestrator.get_run(team_id, run_id)
        if state is None:
            raise PermanentError(f"no run {run_id} in team {team_id}", ErrorCode.NOT_FOUND)
        return redact(state.model_dump(mode="json"))  # type: ignore[no-any-return]

    return router
