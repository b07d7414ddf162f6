"""Fallback over a route's targets: the first usable target that answers wins.

Every target tried (or skipped) becomes an `Attempt`, so the audit log and the metrics show
exactly how an answer was reached: which vendor failed, why, and who answered instead.
"""

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from triage_contracts.errors import ErrorCode, PermanentError, TemporaryError
from triage_contracts.messages import ModelCall

from .breaker import Breakers
from .providers.base import Completion, Provider, ProviderRejected, ProviderUnavailable
from .routes import Target


class Outcome(StrEnum):
    OK = "ok"
    UNCONFIGURED = "skipped_unconfigured"
    BREAKER_OPEN = "skipped_breaker_open"
    UNAVAILABLE = "unavailable"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Attempt:
    provider: str
    model: str
    outcome: Outcome
    error: str = ""
    latency_ms: float = 0.0

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


def _all_failed(route: str, attempts: list[Attempt]) -> TargetsUnavailable | TargetsRejected:
    tried = "; ".join(
        f"{a.provider}:{a.model} {a.outcome}" + (f" ({a.error})" if a.error else "")
        for a in attempts
    )
    message = f"no target of route {route!r} answered: {tried}"
    if any(a.outcome in (Outcome.UNAVAILABLE, Outcome.BREAKER_OPEN) for a in attempts):
        return TargetsUnavailable(message, attempts)
    return TargetsRejected(message, attempts)


async def first_answer(
    call: ModelCall, targets: list[Target], providers: Mapping[str, Provider], breakers: Breakers,
) -> Routed:
    attempts: list[Attempt] = []
    for target in targets:
        provider = providers.get(target.provider)
        if provider is None:
            attempts.append(Attempt(target.provider, target.model, Outcome.UNCONFIGURED))
            continue
        if not breakers.acquire(target.key):
            attempts.append(Attempt(target.provider, target.model, Outcome.BREAKER_OPEN))
            continue
        started = time.monotonic()
        try:
            completion = await provider.complete(call, target)
        except ProviderUnavailable as exc:
            breakers.failure(target.key)
            attempts.append(_failed(target, Outcome.UNAVAILABLE, exc, started))
            continue
        except ProviderRejected as exc:
            # The request, not the target, is at fault: the breaker stays as it is.
            breakers.success(target.key)
            attempts.append(_failed(target, Outcome.REJECTED, exc, started))
            continue
        breakers.success(target.key)
        attempts.append(Attempt(target.provider, target.model, Outcome.OK,
                                latency_ms=_ms(started)))
        return Routed(target, completion, attempts)
    raise _all_failed(call.route, attempts)


def _failed(target: Target, outcome: Outcome, exc: Exception, started: float) -> Attempt:
    return Attempt(target.provider, target.model, outcome, str(exc), _ms(started))


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
