"""A GitHub-shaped REST v3 API telling a world's story, for the sandbox and for tests.

It serves what PyGithub requests for the tools service's connectors, in GitHub's payload
shapes (absolute `url` fields, `Link` pagination, search qualifiers, `Bad credentials`,
job logs behind a 302 to a pre-signed download URL), so the real PyGithub client runs
unchanged against it. The routes live in `github/`, one module per resource family.
Each token belongs to a person (`GET /user` says whom; comments are authored by the poster).
`/sandbox/*` lets tests see what was called and posted and inject upstream failures, and
lets evals replace the world (`world_control.py`, with the control token only); nothing
here is the real GitHub.
"""

import asyncio
from typing import Annotated, Any

from fastapi import Body, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from .demo_data import build_demo
from .github import actions, apps, code, commits, issues, limits, payloads, pulls
from .github.app_model import quota_key
from .github.state import BOT, Fault, GitHubError, SandboxState, base, caller, error, found
from .world.model import Person, World
from .world_control import add_world_control

JsonBody = Annotated[dict[str, Any], Body()]
# Pre-signed downloads (job logs, raw files) need no API token, as on GitHub's own hosts.
UNAUTHENTICATED = ("/_blobs/", "/_raw/")


def _identify(state: SandboxState, request: Request) -> Person | None:
    """The person whose token the request carries; on an open stand-in any token is the
    bot's. An App's installation token is its `<slug>[bot]` until it expires, counted
    against the installation's quota."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() not in ("token", "bearer") or not value:
        return None
    if state.apps.is_app_token(value):
        minted = state.apps.holder(value)
        if minted is None:
            return None  # expired: "Bad credentials", as GitHub answers
        request.state.quota_key = quota_key(minted)
        return minted.app.bot
    return state.tokens.get(value) if state.tokens else BOT


def _guard(app: FastAPI, state: SandboxState) -> None:
    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        path = request.url.path
        if path.startswith("/sandbox"):
            return await call_next(request)  # type: ignore[no-any-return]
        state.calls.append({"method": request.method, "path": path,
                            "query": request.url.query})
        fault = state.take_fault(path)
        if fault is not None:
            await asyncio.sleep(fault.delay_s)
            if fault.status >= 400:
                return error(fault.status, "Server Error (sandbox fault)")
        request.state.caller = _identify(state, request)
        if path.startswith(UNAUTHENTICATED) or path == "/app" or path.startswith("/app/"):
            # Pre-signed downloads need no token; an App's own routes check its JWT.
            return await call_next(request)  # type: ignore[no-any-return]
        if (state.tokens or state.apps.tokens) and request.state.caller is None:
            return error(401, "Bad credentials")
        return await _limited(state, request, call_next)

    @app.exception_handler(GitHubError)
    async def github_error(_: Request, exc: GitHubError) -> JSONResponse:
        return error(exc.status, exc.message, **exc.extra)


async def _limited(state: SandboxState, request: Request, call_next: Any) -> Response:
    """The request within its credential's quota; `GET /rate_limit` is free, as on GitHub."""
    who = limits.credential(request)
    refused = None if request.url.path == "/rate_limit" else state.limits.refusal(who)
    if refused is not None:
        return refused
    response, counts = await limits.conditional(request, await call_next(request))
    if request.url.path == "/rate_limit" or not counts:
        usage = state.limits.of(who)
    else:
        usage = state.limits.count(who)
    response.headers["X-GitHub-Media-Type"] = "github.v3; format=json"
    return limits.stamp(response, state.limits.limit_for(who), usage)


def _hooks(app: FastAPI, state: SandboxState) -> None:
    @app.get("/sandbox/comments")
    async def sandbox_comments() -> list[dict[str, Any]]:
        return state.posted

    @app.get("/sandbox/calls")
    async def sandbox_calls() -> list[dict[str, str]]:
        return state.calls

    @app.get("/sandbox/usage")
    async def sandbox_usage() -> dict[str, dict[str, Any]]:
        """Requests counted against each credential's quota (304s and refusals are not)."""
        return {who: state.limits.snapshot(who) for who in state.limits.usage}

    @app.put("/sandbox/limits")
    async def sandbox_limits(body: JsonBody) -> dict[str, Any]:
        """New limits, counting from zero (`limit`, `secondary_per_minute`, `spent_until`);
        Apps' installations keep their own quota."""
        state.limits = limits.Limits(**body, per_credential={
            quota_key(m): m.app.rate_limit for m in state.apps.tokens.values()})
        return {"limit": state.limits.limit,
                "secondary_per_minute": state.limits.secondary_per_minute,
                "spent_until": state.limits.spent_until}

    @app.post("/sandbox/faults")
    async def sandbox_faults(fault: JsonBody) -> dict[str, int]:
        state.faults.append(Fault(**fault))
        return {"faults": len(state.faults)}

    @app.delete("/sandbox/faults")
    async def clear_faults() -> dict[str, int]:
        """Ends every injected fault at once (a fault suite's outage ends on its schedule)."""
        state.faults.clear()
        return {"faults": 0}


def _replace(state: SandboxState, world: World) -> None:
    state.demo = world
    state.posted.clear()
    state.calls.clear()
    state.faults.clear()


def build_github_api(token: str | None = None, demo: World | None = None,
                     others: dict[str, Person] | None = None,
                     control_token: str | None = None,
                     rate_limit: int = 5000, github_apps: list[apps.App] | None = None
                     ) -> FastAPI:
    """`token` is the bot's (None: an open stand-in); `others` are more people's tokens,
    for tests where someone else comments too; `control_token` enables world replacement;
    `rate_limit` is each credential's requests per hour (`github/limits.py`);
    `github_apps` are the GitHub Apps that may mint installation tokens (`github/apps.py`)."""
    state = SandboxState(demo or build_demo(), limits=limits.Limits(rate_limit))
    state.tokens = ({token: BOT} if token else {}) | (others or {})
    state.apps.registered = {app.app_id: app for app in github_apps or []}
    app = FastAPI(title="SANDBOX GitHub REST API (not the real GitHub)")
    app.state.sandbox = state
    _guard(app, state)
    _hooks(app, state)
    add_world_control(app, control_token, lambda world: _replace(state, world))

    @app.get("/user")
    async def authenticated_user(request: Request) -> Any:
        person = caller(request)
        if person is None:
            raise GitHubError(401, "Requires authentication")
        return {**payloads.user(base(request), person), "name": person.name,
                "email": person.email}

    @app.get("/rate_limit")
    async def rate_limit_status(request: Request) -> Any:
        core = state.limits.snapshot(limits.credential(request))
        return {"resources": {"core": core}, "rate": core}

    @app.get("/repos/{owner}/{name}")
    async def get_repo(owner: str, name: str, request: Request) -> Any:
        return payloads.repo(base(request), found(request, owner, name))

    # pulls before commits: `/commits/{sha}/pulls` would match `/commits/{ref:path}`.
    for family in (issues, pulls, commits, actions, code):
        app.include_router(family.router)
    app.include_router(apps.router(state))
    return app
