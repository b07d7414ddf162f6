"""Typed dependencies shared by the API and the pages (objects live on `app.state`).

`CallerDep` is the authenticated caller of the JSON API (401 without one); pages take
`ViewerDep`, which may be None, and send a signed-out visitor to the login instead.
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from .decisions import Approvals
from .identity import Identity
from .principal import Principal, Scope
from .rules import Invalid, NotAuthenticated
from .settings import Settings


@dataclass(frozen=True)
class Caller:
    """A verified caller and the teams it may see (None for the service caller, which
    names one team per call)."""

    principal: Principal
    scope: Scope | None

    def scope_for(self, team_id: str | None) -> Scope:
        """The teams this call covers: a service must name one; a person may narrow."""
        if self.scope is None:
            if not team_id:
                raise Invalid("a trusted service must name the team (team_id)")
            return Scope(frozenset({team_id}))
        return self.scope.narrowed(team_id)


def _approvals(request: Request) -> Approvals:
    return request.app.state.approvals  # type: ignore[no-any-return]


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _identity(request: Request) -> Identity:
    return request.app.state.identity  # type: ignore[no-any-return]


async def _viewer(request: Request) -> Caller | None:
    identity = _identity(request)
    principal = await identity.principal(request)
    if principal is None:
        return None
    scope = None if principal.is_service else await identity.scope(principal)
    return Caller(principal, scope)


async def resolve_caller(request: Request) -> Caller:
    """The verified caller; NotAuthenticated without one."""
    caller = await _viewer(request)
    if caller is None:
        raise NotAuthenticated("sign in first: no credentials were presented")
    return caller


async def _caller(request: Request) -> Caller:
    # Resolved once by guard.RequireIdentity before the body was read.
    known = getattr(request.state, "caller", None)
    return known if isinstance(known, Caller) else await resolve_caller(request)


ApprovalsDep = Annotated[Approvals, Depends(_approvals)]
SettingsDep = Annotated[Settings, Depends(_settings)]
IdentityDep = Annotated[Identity, Depends(_identity)]
CallerDep = Annotated[Caller, Depends(_caller)]
ViewerDep = Annotated[Caller | None, Depends(_viewer)]
