"""The auditors' HTTP API: teams, events, run timelines with cost, and live verification
(the chain, its stored checkpoints, and the newest batch of each external sink).

Sync endpoints on purpose: FastAPI runs them in its thread pool, beside the sync store.
A configured AUDIT_API_TOKEN is required as a Bearer token (compared in constant time).
"""

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from pydantic import SecretStr
from sqlalchemy import Engine
from triage_contracts.errors import ErrorCode, PermanentError
from triage_contracts.messages import AuditKind

from . import queries
from .anchoring import Anchoring
from .verify_log import verify_log

Team = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
RunPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def _engine(request: Request) -> Engine:
    return request.app.state.store.engine  # type: ignore[no-any-return]


def _anchoring(request: Request) -> Anchoring:
    return request.app.state.anchoring  # type: ignore[no-any-return]


EngineDep = Annotated[Engine, Depends(_engine)]
AnchoringDep = Annotated[Anchoring, Depends(_anchoring)]


def bearer_guard(token: SecretStr | None) -> Any:
    async def guard(authorization: Annotated[str | None, Header()] = None) -> None:
        if token is None:
            return
        scheme, _, given = (authorization or "").partition(" ")
        expected = token.get_secret_value().encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected):
            raise PermanentError("a valid bearer token is required", ErrorCode.UNAUTHENTICATED)

    return guard


def audit_router(token: SecretStr | None) -> APIRouter:
    router = APIRouter(prefix="/audit", tags=["audit"], dependencies=[Depends(bearer_guard(token))])

    @router.get("/teams")
    def list_teams(engine: EngineDep) -> dict[str, Any]:
        return {"teams": queries.teams(engine)}

    @router.get("/{team}/events")
    def list_events(
        engine: EngineDep, team: Team, run_id: str | None = None,
        limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 100,
        after_seq: Annotated[int, Query(ge=0)] = 0,
        kind: AuditKind | None = None,
    ) -> dict[str, Any]:
        found = queries.events(engine, team, run_id, after_seq, limit,
                               kind.value if kind else None)
        next_after = found[-1]["seq"] if len(found) == limit else None
        return {"team_id": team, "events": found, "next_after_seq": next_after}

    @router.get("/verify")
    def verify_everything(engine: EngineDep, anchoring: AnchoringDep) -> dict[str, Any]:
        """Every team, including teams deleted since the newest external batch."""
        return verify_log(engine, anchoring.trust(), None, anchoring.require_anchor()).as_dict()

    @router.get("/{team}/verify")
    def verify(engine: EngineDep, anchoring: AnchoringDep, team: Team) -> dict[str, Any]:
        log_report = verify_log(engine, anchoring.trust(), team, anchoring.require_anchor())
        if not log_report.teams:
            raise PermanentError(f"no audit chain for team {team}", ErrorCode.NOT_FOUND)
        anchors = [a.as_dict() for a in log_report.anchors]
        return {**log_report.teams[0].as_dict(), "ok": log_report.ok, "anchors": anchors}

    @router.get("/{team}/runs/{run_id}")
    def run(engine: EngineDep, team: Team, run_id: RunPath) -> dict[str, Any]:
        timeline = queries.run_timeline(engine, team, run_id)
        if timeline is None:
            raise PermanentError(f"no audit events for run {run_id} of team {team}",
                                 ErrorCode.NOT_FOUND)
        return timeline

    return router

