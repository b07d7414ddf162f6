"""Entry point: `python -m triage_operator` (kopf operator + the health listener).

Settings are built here and passed down; the operator watches exactly one namespace.
"""

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import kopf
from prometheus_client import CollectorRegistry
from triage_contracts.logs import configure_logging
from triage_contracts.natsauth import nats_auth

from .clients.kube import KubeClient
from .health import build_health_app, start_health
from .leader import Elector
from .metrics import OperatorMetrics
from .operator import Memo, build_registry, operator_settings
from .settings import Settings


class LeadershipLost(RuntimeError):
    """Another replica leads now: this one stops (and restarts as a standby)."""


async def run(settings: Settings, stop_flag: asyncio.Event | None = None) -> None:
    """Run until cancelled, `stop_flag` is set, or a signal arrives. With leader election,
    stand by until this replica leads; raise LeadershipLost when it no longer does."""
    ready = asyncio.Event()
    liveness_url = f"http://127.0.0.1:{settings.liveness_port}/healthz"
    metrics = OperatorMetrics(CollectorRegistry())
    memo = Memo(settings=settings, kube=KubeClient(), metrics=metrics)
    elector = _elector(settings)
    runner = await start_health(
        build_health_app(liveness_url, ready, metrics.registry, standby=elector),
        settings.host, settings.port)
    try:
        if elector is None:
            await _operate(settings, memo, liveness_url, ready, stop_flag)
        elif await _first(elector.campaign(), stop_flag):
            metrics.leader.set(1)
            await _lead(elector, settings, memo, liveness_url, ready, stop_flag)
    finally:
        metrics.leader.set(0)
        if elector is not None:
            await elector.release()
            await elector.close()
        await memo.kube.close()
        await runner.cleanup()


def _elector(settings: Settings) -> Elector | None:
    if not settings.leader_election:
        return None
    return Elector(settings.nats_url, nats_auth(settings), settings.operator_namespace,
                   settings.leader_identity, settings.lease_s, settings.lease_renew_s,
                   settings.lease_renew_deadline_s)


async def _first(work: Coroutine[Any, Any, None], stop_flag: asyncio.Event | None) -> bool:
    """Run `work` until it ends (True) or `stop_flag` is set first (False)."""
    task = asyncio.create_task(work)
    waits = {task} | ({asyncio.create_task(stop_flag.wait())} if stop_flag else set())
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
    if task.cancelled():
        return False
    task.result()  # its failure, if it had one
    return True


async def _lead(elector: Elector, settings: Settings, memo: Memo, liveness_url: str,
                ready: asyncio.Event, stop_flag: asyncio.Event | None) -> None:
    """Operate while the lease is renewed. Lost, kopf is cancelled at once (not stopped
    gracefully: its handlers must not run on beside the next leader) and LeadershipLost
    raised; a stop_flag or a signal stops kopf as usual."""
    operating = asyncio.create_task(_operate(settings, memo, liveness_url, ready, stop_flag))
    holding = asyncio.create_task(elector.hold())
    try:
        await asyncio.wait({operating, holding}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (operating, holding):
            task.cancel()
        # Settled before the lease is released: no renewal may still be on its way.
        await asyncio.gather(operating, holding, return_exceptions=True)
    if holding.done() and not holding.cancelled():
        raise LeadershipLost(f"replica {elector.identity} no longer leads {elector.key}")
    operating.result()  # kopf's own failure, if it had one


async def _operate(settings: Settings, memo: Memo, liveness_url: str, ready: asyncio.Event,
                   stop_flag: asyncio.Event | None) -> None:
    await kopf.operator(
        registry=build_registry(settings),
        settings=operator_settings(settings),
        memo=memo,
        namespaces=[settings.operator_namespace],
        liveness_endpoint=liveness_url,
        ready_flag=ready,
        stop_flag=stop_flag,
    )


def configure_operator_logging(settings: Settings) -> None:
    """structlog for our own module loggers (contracts), kopf's formatter for kopf's
    per-object stdlib logs (JSON when LOG_JSON), and one handler, not two."""
    configure_logging("operator", settings.log_level, settings.log_json)
    root = logging.getLogger()
    plain = list(root.handlers)
    level = settings.log_level.upper()
    kopf.configure(
        verbose=level == "DEBUG", quiet=level in ("WARNING", "ERROR", "CRITICAL"),
        log_format=kopf.LogFormat.JSON if settings.log_json else kopf.LogFormat.FULL,
    )
    for handler in plain:
        root.removeHandler(handler)


def main() -> None:
    settings = Settings()
    configure_operator_logging(settings)
    try:
        asyncio.run(run(settings))
    except LeadershipLost as exc:
        # Exit non-zero: the kubelet restarts the container, which campaigns as a standby.
        raise SystemExit(f"operator stopped: {exc}") from exc


if __name__ == "__main__":
    main()
