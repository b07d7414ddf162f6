"""Operator endpoint: the JSON state of one run, for debugging. Redacted (the state holds
the approval grant's signature, and tool output may contain anything)."""

from typing import Any

from fastapi import APIRouter, HTTPException
from triage_contracts import subjects
from triage_contracts.errors import PermanentError
from triage_contracts.redact import redact

from .runner import Orchestrator


def runs_router(orchestrator: Orchestrator) -> APIRouter:
    router = APIRouter()

    @router.get("/runs/{team_id}/{run_id}")
    async def get_run(team_id: str, run_id: str) -> dict[str, Any]:
        try:
            subjects.token(team_id), subjects.token(run_id)
        except PermanentError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        state = await orchestrator.get_run(team_id, run_id)
        if state is None:
            raise HTTPException(status_code=404, detail=f"no run {run_id} in team {team_id}")
        return redact(state.model_dump(mode="json"))  # type: ignore[no-any-return]

    return router
