"""Entry point: `python -m triage_operator` (kopf operator + the health listener).

Settings are built here and passed down; the operator watches exactly one namespace.
"""

import asyncio
import logging

import kopf
from prometheus_client import CollectorRegistry
from triage_contracts.logs import configure_logging

from .clients.kube import KubeClient
from .health import build_health_app, start_health
from .metrics import OperatorMetrics
from .operator import Memo, build_registry, operator_settings
from .settings import Settings


async def run(settings: Settings, stop_flag: asyncio.Event | None = None) -> None:
    """Run until cancelled, `stop_flag` is set, or a signal arrives."""
    ready = asyncio.Event()
    liveness_url = f"http://127.0.0.1:{settings.liveness_port}/healthz"
    metrics = OperatorMetrics(CollectorRegistry())
    memo = Memo(settings=settings, kube=KubeClient(), metrics=metrics)
    runner = await start_health(build_health_app(liveness_url, ready, metrics.registry),
                                settings.host, settings.port)
    try:
        await kopf.operator(
            registry=build_registry(settings),
            settings=operator_settings(settings),
            memo=memo,
            namespaces=[settings.operator_namespace],
            liveness_endpoint=liveness_url,
            ready_flag=ready,
            stop_flag=stop_flag,
        )
    finally:
        await memo.kube.close()
        await runner.cleanup()


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
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
