"""Prometheus counters for model usage: tokens, cost and outcomes by route/provider/model.

Registered on the collector build_app creates, so each app (and each test) has its own."""

from prometheus_client import CollectorRegistry, Counter, Histogram
from triage_contracts.messages import Usage

from .fallback import Attempt


class RouterMetrics:
    def __init__(self, metrics: CollectorRegistry) -> None:
        labels = ["route", "provider", "model"]
        self.tokens = Counter("triage_router_tokens", "Model tokens used",
                              [*labels, "kind"], registry=metrics)
        self.cost = Counter("triage_router_cost_usd", "Model spend in USD", labels,
                            registry=metrics)
        self.attempts = Counter("triage_router_attempts", "Target attempts by outcome",
                                [*labels, "outcome"], registry=metrics)
        self.latency = Histogram("triage_router_call_seconds", "Latency of answered calls",
                                 labels, registry=metrics)

    def record_attempts(self, route: str, attempts: list[Attempt]) -> None:
        for a in attempts:
            self.attempts.labels(route, a.provider, a.model, a.outcome).inc()

    def record_usage(self, route: str, provider: str, model: str, usage: Usage,
                     seconds: float) -> None:
        self.tokens.labels(route, provider, model, "prompt").inc(usage.prompt_tokens)
        self.tokens.labels(route, provider, model, "completion").inc(usage.completion_tokens)
        self.cost.labels(route, provider, model).inc(usage.cost_usd)
        self.latency.labels(route, provider, model).observe(seconds)
