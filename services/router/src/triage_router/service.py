"""One model call, end to end: stored answer, route lookup (the team's Workspace may
replace a route, `teams.py`), budget (the team's own daily limit), fallback, accounting,
result, audit.

Every call ends in exactly one of three ways, so the orchestrator never waits forever:
a ModelResult with ok=True, a ModelResult with ok=False and the reason (unknown route, over
the call's or the team's budget, every target rejected the request), or a TemporaryError
that JetStream retries (targets unhealthy right now). A final result is stored before it is
published, then its hold is settled: a redelivery of an answered call republishes the stored
result without calling a model or billing again. Prompts, answers and tool output never
reach logs or audit: only sizes and names.
"""

import time
from typing import Any

from faststream.nats import NatsBroker
from nats.js.kv import KeyValue
from prometheus_client import CollectorRegistry
from structlog.contextvars import bound_contextvars
from triage_contracts import subjects
from triage_contracts.audit import AuditEmitter
from triage_contracts.bus import jetstream, publish
from triage_contracts.errors import TemporaryError
from triage_contracts.ids import new_id
from triage_contracts.logs import get_logger
from triage_contracts.messages import AuditKind, ModelCall, ModelResult
from triage_contracts.streams import Buckets

from .answers import AnswerStore, AuditFacts, StoredAnswer
from .breaker import Breakers
from .budget import TeamBudget
from .fallback import (
    Attempt,
    BudgetRefused,
    Routed,
    TargetsRejected,
    TargetsUnavailable,
    first_answer,
)
from .metrics import RouterMetrics
from .progress import Beat, keep_alive
from .providers.available import build_providers, unconfigured_reason
from .providers.base import Provider
from .routes import RoutesConfig, load_routes
from .settings import Settings
from .spend import CallSpend, slot_of
from .teams import routing, team_entry

log = get_logger("triage.router")
SERVICE = "router"
# Refusals decided before any model was called: their outcome is the result's error_code.
_NO_MODEL_CALLED = frozenset({"unknown_route", "run_budget", "team_budget"})


class ModelRouter:
    def __init__(self, settings: Settings, broker: NatsBroker, metrics: CollectorRegistry):
        self.settings = settings
        self.broker = broker
        self.metrics = RouterMetrics(metrics)
        self.audit = AuditEmitter(broker, SERVICE)
        self.breakers = Breakers(settings.breaker_failures, settings.breaker_reset_s)
        self.routes: RoutesConfig | None = None
        self.providers: dict[str, Provider] = {}
        self.budget: TeamBudget | None = None
        self.answers: AnswerStore | None = None
        self.workspaces: KeyValue | None = None

    async def start(self) -> None:
        """Called once the broker is connected and streams/buckets are provisioned."""
        self.routes = load_routes(self.settings.routes_file)
        self.providers = build_providers(self.settings)
        kv = await jetstream(self.broker).key_value(Buckets.IDEMPOTENCY.name)
        self.budget = TeamBudget(self.settings.daily_budget_usd, kv,
                                 self.settings.budget_hold_ttl_s)
        self.answers = AnswerStore(kv)
        self.workspaces = await jetstream(self.broker).key_value(Buckets.WORKSPACES.name)
        log.info("routes loaded", routes=sorted(self.routes.routes),
                 providers=sorted(self.providers))

    async def stop(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()

    async def handle(self, call: ModelCall, beat: Beat) -> None:
        if self.answers is None:
            raise TemporaryError("router is not started yet")
        with bound_contextvars(run_id=call.run_id, team_id=call.team_id, step_id=call.step_id,
                               route=call.route):
            stored = await self.answers.get(call)
            if stored is not None:
                await self._replay(call, stored)
                return
            async with keep_alive(beat, self.settings.progress_interval_s):
                await self._route(call)

    async def _route(self, call: ModelCall) -> None:
        assert self.routes is not None and self.budget is not None
        assert self.workspaces is not None
        team = routing(call.route, await team_entry(self.workspaces, call.team_id),
                       self.routes, self.settings.daily_budget_usd)
        targets = team.targets
        spend = CallSpend(call, self.budget, new_id("attempt-"), team.limit_usd)
        if targets is None:
            await self._refuse(call, spend, team.problem or "", "unknown_route", [])
            return
        await spend.begin()
        started = time.monotonic()
        try:
            routed = await first_answer(call, targets, self.providers, self.breakers, spend)
        except TargetsUnavailable as exc:
            await spend.release()
            await self._retry_later(call, spend, exc)
            raise
        except (TargetsRejected, BudgetRefused) as exc:
            await spend.release()
            code = exc.scope if isinstance(exc, BudgetRefused) else "failed"
            await self._refuse(call, spend, str(exc), code, exc.attempts)
            return
        await self._answer(call, spend, routed, time.monotonic() - started)

    async def _answer(self, call: ModelCall, spend: CallSpend, routed: Routed,
                      seconds: float) -> None:
        target, completion = routed.target, routed.completion
        usage = target.usage(completion.prompt_tokens, completion.completion_tokens)
        self.metrics.record_attempts(call.route, routed.attempts)
        self.metrics.record_usage(call.route, target.provider, target.model, usage, seconds)
        result = ModelResult(
            team_id=call.team_id, run_id=call.run_id, step_id=call.step_id, route=call.route,
            ok=True, content=completion.content, tool_calls=completion.tool_calls,
            proposed_actions=completion.proposed_actions, finish_reason=completion.finish_reason,
            provider=target.provider, model=target.model, usage=usage,
        )
        detail = {
            **_call_facts(call), "provider": target.provider, "model": target.model,
            "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "cost_usd": usage.cost_usd, "charged_unanswered_usd": spend.charged,
            "latency_ms": round(seconds * 1000, 1), "fallbacks": routed.fallbacks,
            "attempts": _attempts(routed.attempts), "finish_reason": completion.finish_reason,
            "tool_calls": [c.name for c in completion.tool_calls],
            "proposed_actions": [a.tool for a in completion.proposed_actions],
            "warnings": completion.warnings,
        }
        facts = AuditFacts(actor=f"{target.provider}:{target.model}", detail=detail,
                           cost_usd=usage.cost_usd)
        await self._conclude(call, spend, result, facts)
        log.info("model call answered", provider=target.provider, model=target.model,
                 fallbacks=routed.fallbacks, cost_usd=usage.cost_usd,
                 tokens=usage.prompt_tokens + usage.completion_tokens,
                 tool_calls=len(completion.tool_calls))

    async def _refuse(self, call: ModelCall, spend: CallSpend, error: str, outcome: str,
                      attempts: list[Attempt]) -> None:
        """Tell the run it gets no answer (and why) instead of leaving it waiting."""
        self.metrics.record_attempts(call.route, attempts)
        result = ModelResult(team_id=call.team_id, run_id=call.run_id, step_id=call.step_id,
                             route=call.route, ok=False, error=error,
                             error_code=outcome if outcome in _NO_MODEL_CALLED else None)
        detail = {**_call_facts(call), "error": error, "charged_unanswered_usd": spend.charged}
        if attempts:
            detail["attempts"] = _attempts(attempts)
        await self._conclude(call, spend, result, AuditFacts(outcome=outcome, detail=detail))
        log.warning("model call refused", outcome=outcome, error=error)

    async def _conclude(self, call: ModelCall, spend: CallSpend, result: ModelResult,
                        facts: AuditFacts) -> None:
        """Store, settle, publish, audit: a crash between any two is finished by the
        redelivery (`_replay`), and none of them ever runs the model again."""
        assert self.answers is not None
        mine = StoredAnswer(attempt=spend.attempt, result=result, audit=facts,
                            ledger_key=spend.key if spend.held > 0 else None)
        kept = await self.answers.keep(call, mine)
        await spend.settle(result.usage.cost_usd)  # what this attempt paid, kept or not
        if kept.attempt != mine.attempt:
            log.warning("another delivery answered this call first; publishing its answer")
        await self._publish(call, kept.result)
        await self._emit(call, kept.audit)

    async def _replay(self, call: ModelCall, stored: StoredAnswer) -> None:
        assert self.budget is not None
        if stored.ledger_key is not None:  # settle it, if the crash came before that
            await self.budget.settle_stored(stored.ledger_key, slot_of(call), stored.attempt,
                                            stored.result.usage.cost_usd)
        await self._publish(call, stored.result)
        await self._emit(call, stored.audit)
        log.info("model call answered before; stored result republished")

    async def _retry_later(self, call: ModelCall, spend: CallSpend,
                           exc: TargetsUnavailable) -> None:
        self.metrics.record_attempts(call.route, exc.attempts)
        detail = {**_call_facts(call), "attempts": _attempts(exc.attempts),
                  "charged_unanswered_usd": spend.charged}
        # No dedupe key: each failed delivery is its own fact worth keeping.
        await self.audit.emit(call.team_id, call.run_id, AuditKind.MODEL_CALL,
                              f"model call {call.route}", outcome="retry", detail=detail)
        log.warning("every target failed; retrying later", error=str(exc))

    async def _publish(self, call: ModelCall, result: ModelResult) -> None:
        await publish(self.broker, result, subjects.result(call.team_id, call.run_id),
                      msg_id=f"{call.run_id}:{call.step_id}:result")

    async def _emit(self, call: ModelCall, facts: AuditFacts) -> None:
        await self.audit.emit(
            call.team_id, call.run_id, AuditKind.MODEL_CALL, f"model call {call.route}",
            actor=facts.actor, outcome=facts.outcome, detail=facts.detail,
            cost_usd=facts.cost_usd, dedupe_key=f"{call.run_id}:{call.step_id}:model_call",
        )

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


def _call_facts(call: ModelCall) -> dict[str, Any]:
    # Sizes, never content: prompts carry user questions and tool output.
    return {"route": call.route, "step_id": call.step_id, "messages": len(call.messages),
            "prompt_chars": sum(len(m.content) for m in call.messages),
            "tools_offered": [t.name for t in call.tools], "tool_choice": call.tool_choice,
            "max_cost_usd": call.max_cost_usd}


def _attempts(attempts: list[Attempt]) -> list[dict[str, Any]]:
    return [attempt.as_dict() for attempt in attempts]
