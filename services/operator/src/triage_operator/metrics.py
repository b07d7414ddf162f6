"""The operator's Prometheus metrics, served at `/metrics` on the health port (the pod's
scrape annotations point there): how often each handler ran, how long it took, how it
ended, and why a Workspace is not Ready.

Registered on the registry `run` builds, so each operator (and each test) has its own.
`observed` is the one place a handler's outcome is classified for the counters, using the
error kinds the handlers already raise (kopf's temporary and permanent errors)."""

import time
from collections.abc import Awaitable, Callable
from typing import Any

import kopf
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

Handler = Callable[..., Awaitable[None]]


class OperatorMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.reconciles = Counter(
            "triage_operator_reconciles", "Handler runs by handler and outcome "
            "(ok, retry: a temporary error, failed: a permanent one, error: unexpected)",
            ["handler", "outcome"], registry=registry)
        self.seconds = Histogram(
            "triage_operator_reconcile_seconds", "Handler run time", ["handler"],
            registry=registry, buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
        self.errors = Counter(
            "triage_operator_errors", "Workspaces reported not Ready, by reason",
            ["reason"], registry=registry)
        self.leader = Gauge(
            "triage_operator_leader", "1 while this replica leads (acts), 0 while it stands by",
            registry=registry)


def _outcome(exc: BaseException | None) -> str:
    if exc is None:
        return "ok"
    if isinstance(exc, kopf.TemporaryError):
        return "retry"
    if isinstance(exc, kopf.PermanentError):
        return "failed"
    return "error"


def observed(name: str, handler: Handler) -> Handler:
    """`handler`, counted and timed under `name` in the memo's metrics."""
    async def run(*args: Any, memo: Any, **kwargs: Any) -> None:
        metrics: OperatorMetrics = memo.metrics
        started, failure = time.monotonic(), None
        try:
            await handler(*args, memo=memo, **kwargs)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            metrics.seconds.labels(name).observe(time.monotonic() - started)
            metrics.reconciles.labels(name, _outcome(failure)).inc()
            if reason := _not_ready_reason(kwargs.get("patch")):
                metrics.errors.labels(reason).inc()
    return run


def _not_ready_reason(patch: Any) -> str | None:
    """The reason of the Ready=False condition this run reported, if it reported one."""
    conditions = (patch or {}).get("status", {}).get("conditions") or []
    return next((c.get("reason") for c in conditions
                 if c.get("type") == "Ready" and c.get("status") == "False"), None)
