"""One model call, end to end: route lookup, budget, fallback, accounting, result, audit.

Every call ends in exactly one of three ways, so the orchestrator never waits forever:
a ModelResult with ok=True, a ModelResult with ok=False and the reason (unknown route, over
budget, every target rejected the request), or a TemporaryError that JetStream retries
(targets unhealthy right now). Prompt text never reaches logs or audit: only its length.
"""

import time
from typing import Any

from faststream.nats import NatsBroker
from prometheus_client import CollectorRegistry
from structlog.contextvars import bound_contextvars
from triage_contracts import subjects
from triage_contracts.audit import AuditEmitter
from triage_contracts.bus import jetstream, publish
from triage_contracts.errors import TemporaryError
from triage_contracts.logs import get_logger
from triage_contracts.messages import AuditKind, ModelCall, ModelResult
from triage_contracts.streams import Buckets

from .breaker import Breakers
from .budget import Budget
from .fallback import Routed, TargetsRejected, TargetsUnavailable, first_answer
from .metrics import RouterMetrics
from .progress import Beat, keep_alive
from .providers.available import build_providers, unconfigured_reason
from .providers.base import Provider
from .routes import RoutesConfig, load_routes
from .settings import Settings

log = get_logger("triage.router")
SERVICE = "router"


class ModelRouter:
    def __init__(self, settings: Settings, broker: NatsBroker, metrics: CollectorRegistry):
        self.settings = settings
        self.broker = broker
        self.metrics = RouterMetrics(metrics)
        self.audit = AuditEmitter(broker, SERVICE)
        self.breakers = Breakers(settings.breaker_failures, settings.breaker_reset_s)
        self.routes: RoutesConfig | None = None
        self.providers: dict[str, Provider] = {}
        self.budget: Budget | None = None

    async def start(self) -> None:
        """Called once the broker is connected and streams/buckets are provisioned."""
        self.routes = load_routes(self.settings.routes_file)
        self.providers = build_providers(self.settings)
        kv = await jetstream(self.broker).key_value(Buckets.IDEMPOTENCY.name)
        self.budget = Budget(self.settings.daily_budget_usd, kv)
        log.info("routes loaded", routes=sorted(self.routes.routes),
                 providers=sorted(self.providers))

    async def stop(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()

    async def handle(self, call: ModelCall, beat: Beat) -> None:
        if self.routes is None or self.budget is None:
            raise TemporaryError("router is not started yet")
        with bound_contextvars(run_id=call.run_id, team_id=call.team_id, step_id=call.step_id,
                               route=call.route):
            targets = self.routes.get(call.route)
            if targets is None:
                known = ", ".join(sorted(self.routes.routes))
                await self._refuse(call, f"unknown route {call.route!r} (known: {known})",
                                   "unknown_route")
                return
            if await self.budget.exceeded(call.team_id):
                await self._refuse(call, f"daily model budget of {_usd(self.budget.limit_usd)} "
                                   "exceeded", "budget_exceeded")
                return
            started = time.monotonic()
            try:
                async with keep_alive(beat, self.settings.progress_interval_s):
                    routed = await first_answer(call, targets, self.providers, self.breakers)
            except TargetsUnavailable as exc:
                await self._retry_later(call, exc)
                raise
            except TargetsRejected as exc:
                self.metrics.record_attempts(call.route, exc.attempts)
                await self._refuse(call, str(exc), "failed", {"attempts": _attempts(exc)})
                return
            await self._answer(call, routed, time.monotonic() - started)

    async def _answer(self, call: ModelCall, routed: Routed, seconds: float) -> None:
        assert self.budget is not None
        target, completion = routed.target, routed.completion
        usage = target.usage(completion.prompt_tokens, completion.completion_tokens)
        await self.budget.add(call.team_id, usage.cost_usd)
        self.metrics.record_attempts(call.route, routed.attempts)
        self.metrics.record_usage(call.route, target.provider, target.model, usage, seconds)
        result = ModelResult(
            team_id=call.team_id, run_id=call.run_id, step_id=call.step_id, route=call.route,
            ok=True, content=completion.content, tool_calls=completion.tool_calls,
            proposed_actions=completion.proposed_actions, finish_reason=completion.finish_reason,
            provider=target.provider, model=target.model, usage=usage,
        )
        await self._publish(call, result)
        detail = {
            **self._call_facts(call), "provider": target.provider, "model": target.model,
            "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "cost_usd": usage.cost_usd, "latency_ms": round(seconds * 1000, 1),
            "fallbacks": routed.fallbacks, "attempts": [a.as_dict() for a in routed.attempts],
            "finish_reason": completion.finish_reason,
            "tool_calls": [c.name for c in completion.tool_calls],
            "proposed_actions": [a.tool for a in completion.proposed_actions],
            "warnings": completion.warnings,
        }
        await self.audit.emit(
            call.team_id, call.run_id, AuditKind.MODEL_CALL, f"model call {call.route}",
            actor=f"{target.provider}:{target.model}", detail=detail, cost_usd=usage.cost_usd,
            dedupe_key=f"{call.run_id}:{call.step_id}:model_call",
        )
        log.info("model call answered", provider=target.provider, model=target.model,
                 fallbacks=routed.fallbacks, cost_usd=usage.cost_usd,
                 tokens=usage.prompt_tokens + usage.completion_tokens)

    async def _retry_later(self, call: ModelCall, exc: TargetsUnavailable) -> None:
        self.metrics.record_attempts(call.route, exc.attempts)
        detail = {**self._call_facts(call), "attempts": _attempts(exc)}
        # No dedupe key: each failed delivery is its own fact worth keeping.
        await self.audit.emit(call.team_id, call.run_id, AuditKind.MODEL_CALL,
                              f"model call {call.route}", outcome="retry", detail=detail)
        log.warning("every target failed; retrying later", error=str(exc))

    async def _refuse(
        self, call: ModelCall, error: str, outcome: str, detail: dict[str, Any] | None = None,
    ) -> None:
        """Tell the run it gets no answer (and why) instead of leaving it waiting."""
        result = ModelResult(team_id=call.team_id, run_id=call.run_id, step_id=call.step_id,
                             route=call.route, ok=False, error=error)
        await self._publish(call, result)
        await self.audit.emit(
            call.team_id, call.run_id, AuditKind.MODEL_CALL, f"model call {call.route}",
            outcome=outcome, detail={**self._call_facts(call), "error": error, **(detail or {})},
            dedupe_key=f"{call.run_id}:{call.step_id}:model_call",
        )
        log.warning("model call refused", outcome=outcome, error=error)

    async def _publish(self, call: ModelCall, result: ModelResult) -> None:
        await publish(self.broker, result, subjects.result(call.team_id, call.run_id),
                      msg_id=f"{call.run_id}:{call.step_id}:result")

    @staticmethod
    def _call_facts(call: ModelCall) -> dict[str, Any]:
        # Sizes, never content: prompts carry user questions and tool output.
        return {"route": call.route, "step_id": call.step_id, "messages": len(call.messages),
                "prompt_chars": sum(len(m.content) for m in call.messages),
                "tools_offered": [t.name for t in call.tools]}

    def describe_routes(self) -> dict[str, Any]:
        """What GET /routes shows: every target and whether it can be used right now."""
        assert self.routes is not None
        return {"routes": {
            name: [self._describe_target(t.provider, t.key) | t.model_dump()
                   for t in targets]
            for name, targets in sorted(self.routes.routes.items())
        }}

    def _describe_target(self, provider: str, key: str) -> dict[str, Any]:
        breaker = self.breakers.state(key)
        configured = provider in self.providers
        reason = "" if configured else unconfigured_reason(provider)
        if configured and breaker == "open":
            reason = "circuit breaker open after repeated failures"
        return {"usable": configured and breaker != "open", "breaker": str(breaker),
                "reason": reason}


def _attempts(exc: TargetsUnavailable | TargetsRejected) -> list[dict[str, Any]]:
    return [attempt.as_dict() for attempt in exc.attempts]


def _usd(amount: float) -> str:
    return f"${amount:.2f}" if round(amount, 2) == amount else f"${amount:g}"
