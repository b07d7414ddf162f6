"""Who is calling and which teams they may see: pure values and the mapping from verified
token claims, shared by every way to authenticate (OIDC login, proxy JWT, service token,
the sandbox's dev identity).

Invariant: a `Principal` is only ever built from something verified (a signed ID token or
proxy JWT, the constant-time-compared service token, a signed session) or, in the sandbox
alone, from the dev selector. Every read and write is filtered by a `Scope`; an approval
outside it does not exist for the caller.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .rules import NotAuthenticated

USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:+-]{0,127}$")
TEAM_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Via(StrEnum):
    """How the caller proved who they are (recorded with each decision as `via`)."""

    OIDC = "oidc"
    PROXY = "proxy"
    SERVICE = "service"
    DEV = "dev"


@dataclass(frozen=True)
class Scope:
    """The teams whose approvals a caller may list, read and decide: the named ones, or
    every team (the sandbox's dev identity, or an approver for every team)."""

    teams: frozenset[str] = frozenset()
    every: bool = False

    def allows(self, team_id: str) -> bool:
        return self.every or team_id in self.teams

    def narrowed(self, team_id: str | None) -> "Scope":
        """Only `team_id` (when the caller asks for one team), never wider than before."""
        if team_id is None:
            return self
        return Scope(frozenset({team_id})) if self.allows(team_id) else Scope()


EVERY_TEAM = Scope(every=True)


@dataclass(frozen=True)
class Principal:
    """A verified caller. `teams` is what the token stated (None: it stated nothing, so
    the teams come from the approver directory). The service caller has no user of its
    own: it names the approver and the team with each call."""

    user_id: str
    via: Via
    teams: frozenset[str] | None = None

    @property
    def is_service(self) -> bool:
        return self.via is Via.SERVICE


SERVICE = Principal("", Via.SERVICE)


def from_claims(claims: Mapping[str, Any], user_claim: str, team_claim: str,
                via: Via) -> Principal:
    """The person a verified token names; NotAuthenticated when it names nobody usable."""
    user = claims.get(user_claim)
    if not isinstance(user, str) or not USER_ID.fullmatch(user):
        raise NotAuthenticated(f"the token has no usable {user_claim!r} claim")
    return Principal(user, via, _teams(claims.get(team_claim)))


def _teams(value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    values: Iterable[Any] = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise NotAuthenticated("the token's team claim is neither a string nor a list of them")
    teams = frozenset(v for v in values if TEAM_ID.fullmatch(v))
    if len(teams) != len(set(values)):
        raise NotAuthenticated("the token's team claim holds an invalid team id")
    return teams


def dev_user(value: str) -> str:
    """A sandbox user id picked in the page, checked like any claimed id."""
    if not USER_ID.fullmatch(value):
        raise NotAuthenticated("not a valid user id")
    return value
