"""Fallback over a route's targets: the first usable target that answers wins.

Every target tried (or skipped) becomes an `Attempt`, so the audit log and the metrics show
exactly how an answer was reached: which vendor failed, why, and who answered instead. A
`Gate` is asked before each target (the money: the call's cap and the team's day, held
before the call) and told when an answer was lost after the request reached the vendor.
How the loop ends: an answer; a retry when some target is unhealthy; a refusal when every
target tried refused it; a budget refusal when no target was tried because none fitted.
"""

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Protocol

from triage_contracts.errors import ErrorCode, PermanentError, TemporaryError
from triage_contracts.messages import ModelCall

from .breaker import Breakers
from .providers.base import (
    AnswerLost,
    Completion,
    Provider,
    ProviderRejected,
    ProviderUnavailable,
)
from .routes import Target


class Outcome(StrEnum):
    OK = "ok"
    UNCONFIGURED = "skipped_unconfigured"
    BREAKER_OPEN = "skipped_breaker_open"
    RUN_BUDGET = "skipped_run_budget"
    TEAM_BUDGET = "skipped_team_budget"
    UNAVAILABLE = "unavailable"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Attempt:
    provider: str
    model: str
    outcome: Outcome
    error: str = ""
    latency_ms: float = 0.0
    charged_usd: float = 0.0  # charged without an answer (lost after reaching the vendor)

    def as_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, StrEnum) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Routed:
    target: Target
    completion: Completion
    attempts: list[Attempt]

    @property
    def fallbacks(self) -> int:
        """Targets that were tried or skipped before the one that answered."""
        return len(self.attempts) - 1


class TargetsUnavailable(TemporaryError):
    """No target answered and some were unhealthy: they may recover, retry later."""

    def __init__(self, message: str, attempts: list[Attempt]) -> None:
        super().__init__(message, ErrorCode.UPSTREAM_UNAVAILABLE)
        self.attempts = attempts


class TargetsRejected(PermanentError):
    """Every target refused (or none is configured): retrying the same call cannot help."""

    def __init__(self, message: str, attempts: list[Attempt]) -> None:
        super().__init__(message, ErrorCode.UPSTREAM_REJECTED)
        self.attempts = attempts


class BudgetRefused(PermanentError):
    """No target was tried: none fitted the call's cap or what is left of the team's day.
    `scope` ("run_budget" or "team_budget") is the ModelResult's error_code."""

    def __init__(self, message: str, attempts: list[Attempt]) -> None:
        super().__init__(message, ErrorCode.BUDGET_EXCEEDED)
        self.attempts = attempts
        team = any(a.outcome is Outcome.TEAM_BUDGET for a in attempts)
        self.scope = "team_budget" if team else "run_budget"


class Gate(Protocol):
    async def admit(self, target: Target) -> tuple[Outcome, str] | None:
        """None: go ahead (the worst case is held); else why the target is skipped."""

    async def lost(self) -> float:
        """The request reached the vendor but the answer was lost; returns the charge."""


Failure = TargetsUnavailable | TargetsRejected | BudgetRefused
_BUDGET = {Outcome.RUN_BUDGET, Outcome.TEAM_BUDGET}


def _all_failed(route: str, attempts: list[Attempt]) -> Failure:
    outcomes = {a.outcome for a in attempts}
    if Outcome.REJECTED not in outcomes and outcomes & _BUDGET and not outcomes & {
            Outcome.UNAVAILABLE, Outcome.BREAKER_OPEN}:
        why = "; ".join(f"{a.provider}:{a.model} {a.error}" for a in attempts
                        if a.outcome in _BUDGET)
        return BudgetRefused(f"no target of route {route!r} fits the budget: {why}", attempts)
    tried = "; ".join(
        f"{a.provider}:{a.model} {a.outcome}" + (f" ({a.error})" if a.error else "")
        for a in attempts
    )
    message = f"no target of route {route!r} answered: {tried}"
    if outcomes & {Outcome.UNAVAILABLE, Outcome.BREAKER_OPEN}:
        return TargetsUnavailable(message, attempts)
    return TargetsRejected(message, attempts)


async def first_answer(
    call: ModelCall, targets: list[Target], providers: Mapping[str, Provider],
    breakers: Breakers, gate: Gate,
) -> Routed:
    attempts: list[Attempt] = []
    for target in targets:
        provider = providers.get(target.provider)
        if provider is None:
            attempts.append(Attempt(target.provider, target.model, Outcome.UNCONFIGURED))
            continue
        skip = await gate.admit(target)
        if skip is None and not breakers.acquire(target.key):
            skip = (Outcome.BREAKER_OPEN, "")
        if skip is not None:
            attempts.append(Attempt(target.provider, target.model, *skip))
            continue
        completion, attempt = await _try(call, target, provider, breakers, gate)
        attempts.append(attempt)
        if completion is not None:
            return Routed(target, completion, attempts)
    raise _all_failed(call.route, attempts)


async def _try(call: ModelCall, target: Target, provider: Provider, breakers: Breakers,
               gate: Gate) -> tuple[Completion | None, Attempt]:
    started = time.monotonic()
    try:
        completion = await provider.complete(call, target)
    except AnswerLost as exc:
        breakers.failure(target.key)
        charged = await gate.lost()
        return None, _failed(target, Outcome.UNAVAILABLE, exc, started, charged)
    except ProviderUnavailable as exc:
        breakers.failure(target.key)
        return None, _failed(target, Outcome.UNAVAILABLE, exc, started)
    except ProviderRejected as exc:
        # The request, not the target, is at fault: the breaker stays as it is.
        breakers.success(target.key)
        return None, _failed(target, Outcome.REJECTED, exc, started)
    breakers.success(target.key)
    return completion, Attempt(target.provider, target.model, Outcome.OK,
                               latency_ms=_ms(started))


def _failed(target: Target, outcome: Outcome, exc: Exception, started: float,
            charged: float = 0.0) -> Attempt:
    return Attempt(target.provider, target.model, outcome, str(exc), _ms(started), charged)


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
