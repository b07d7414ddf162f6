"""The one HTTP error boundary of the edge: endpoints raise, this module answers.

Permanent errors become 4xx with their reason (Slack will not retry them), temporary ones
503 (Slack retries), and anything unexpected a 500 carrying only an error id: the details
go to the log under that id, never to the caller.
"""

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from triage_contracts.errors import ErrorCode, PermanentError, TemporaryError
from triage_contracts.ids import new_id
from triage_contracts.logs import get_logger

log = get_logger("triage.ingress.boundary")

_STATUS = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.INVALID_MESSAGE: 400,
    ErrorCode.POLICY_DENIED: 403,
    ErrorCode.CONFLICT: 409,
    ErrorCode.INTERNAL: 500,
}


class RequestRejected(PermanentError):
    """A request refused at the edge, with the HTTP status that says why (401, 413...).

    The contracts' ErrorCode has no "unauthorized"/"too large", so the status rides along."""

    def __init__(self, status: int, reason: str, code: ErrorCode = ErrorCode.BAD_REQUEST) -> None:
        super().__init__(reason, code)
        self.status = status


def _internal(exc: Exception) -> JSONResponse:
    error_id = new_id("err-")
    log.error("request failed", error_id=error_id, error_type=type(exc).__name__,
              error=str(exc))
    return JSONResponse({"ok": False, "error": "internal", "error_id": error_id}, 500)


async def on_permanent(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, PermanentError)
    status = getattr(exc, "status", None) or _STATUS.get(exc.code, 400)
    if status >= 500:
        return _internal(exc)
    log.info("request rejected", status=status, reason=str(exc))
    return JSONResponse({"ok": False, "error": str(exc.code), "reason": str(exc)}, status)


async def on_temporary(_: Request, exc: Exception) -> Response:
    log.warning("request deferred, Slack will retry", reason=str(exc))
    return JSONResponse({"ok": False, "error": str(getattr(exc, "code", "")),
                         "reason": "temporarily unavailable, retry later"}, 503)


class UnknownErrorBoundary:
    """ASGI middleware: an unexpected failure is logged under an id and answered 500, so
    internals never reach the caller (Slack, or anyone probing the endpoint)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:  # too late to answer: let the server close the connection
                raise
            await _internal(exc)(scope, receive, send)


def install_error_boundary(app: FastAPI) -> None:
    app.add_exception_handler(PermanentError, on_permanent)
    app.add_exception_handler(TemporaryError, on_temporary)
    app.add_middleware(UnknownErrorBoundary)
