"""The one HTTP error boundary every service installs: endpoints raise, this answers.

Permanent errors become 4xx with their reason (the status comes from the error's code, in
the one table below), temporary ones 503 (the caller may retry), and anything unexpected
a 500 carrying only an error id: the details go to the log under that id, never to the
caller. The body is always `{"ok": false, "error": <code>, "reason": <text>}`, plus
`detail` (the same text) because that is where FastAPI's own errors put it, so a client
reads one field whichever layer refused.
"""

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ErrorCode, PermanentError, TemporaryError
from .ids import new_id
from .logs import get_logger

log = get_logger("triage.http")
DEFAULT_RETRY_AFTER_S = 5

STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.INVALID_MESSAGE: 400,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.POLICY_DENIED: 403,
    ErrorCode.APPROVAL_INVALID: 403,
    ErrorCode.GRANT_UNKNOWN_KEY: 403,
    ErrorCode.GRANT_WRONG_TEAM: 403,
    ErrorCode.GRANT_BAD_SIGNATURE: 403,
    ErrorCode.GRANT_EXPIRED: 403,
    ErrorCode.GRANT_OTHER_ACTION: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.UNKNOWN_TOOL: 404,
    ErrorCode.UNKNOWN_ROUTE: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.GONE: 410,
    ErrorCode.TOO_LARGE: 413,
    ErrorCode.UNPROCESSABLE: 422,
    ErrorCode.INTERNAL: 500,
}


def status_of(exc: PermanentError) -> int:
    return STATUS.get(exc.code, 400)


def body(code: ErrorCode | str, reason: str) -> dict[str, object]:
    return {"ok": False, "error": str(code), "reason": reason, "detail": reason}


def _internal(exc: Exception) -> JSONResponse:
    error_id = new_id("err-")
    log.error("request failed", error_id=error_id, error_type=type(exc).__name__,
              error=str(exc))
    return JSONResponse({"ok": False, "error": "internal", "error_id": error_id}, 500)


async def on_permanent(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, PermanentError)
    status = status_of(exc)
    if status >= 500:
        return _internal(exc)
    log.info("request rejected", status=status, reason=str(exc))
    # RFC 9110: a 401 names the scheme that would be accepted.
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body(exc.code, str(exc)), status, headers=headers)


async def on_temporary(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, TemporaryError)
    log.warning("request deferred, the caller may retry", reason=str(exc))
    retry_after = str(max(1, round(exc.delay))) if exc.delay else str(DEFAULT_RETRY_AFTER_S)
    return JSONResponse(body(exc.code, "temporarily unavailable, retry later"), 503,
                        headers={"Retry-After": retry_after})


class UnknownErrorBoundary:
    """ASGI middleware: an unexpected failure is logged under an id and answered 500, so
    internals never reach the caller (Slack, a browser, or anyone probing the endpoint)."""

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
