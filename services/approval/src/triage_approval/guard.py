"""Identity before anything else on the JSON API: an ASGI middleware that resolves the
caller of every `/api/` request before FastAPI reads or validates the body, so a request
without a verified identity is a 401 whatever it sends (never a 422 that echoes how its
body was parsed). The resolved caller rides on `request.state` for the endpoint.

Refusals are answered by the shared HTTP boundary's own handlers, so the body and the
statuses are the same as everywhere else.
"""

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send
from triage_contracts.errors import PermanentError, TemporaryError
from triage_contracts.http import on_permanent, on_temporary

from .deps import resolve_caller

API_PREFIX = "/api/"


class RequireIdentity:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            request.state.caller = await resolve_caller(request)
        except PermanentError as exc:
            await (await on_permanent(request, exc))(scope, receive, send)
            return
        except TemporaryError as exc:
            await (await on_temporary(request, exc))(scope, receive, send)
            return
        await self.app(scope, receive, send)
