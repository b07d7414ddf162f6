"""Assembling the install controller: the INSTALLS consumer, the Kubernetes client (the
in-cluster service account, else a kubeconfig: kopf's login functions, as the operator
logs in), health and metrics. No I/O here: connecting happens in the lifespan."""

import kopf
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from triage_contracts.broker import build_broker
from triage_contracts.consume import subscribe
from triage_contracts.health import health_router
from triage_contracts.messages import InstallEvent
from triage_contracts.natsauth import nats_auth
from triage_contracts.runtime import broker_lifespan
from triage_contracts.streams import Consumers

from ..clients.kube import KubeClient
from .effects import InstallController
from .settings import Settings

SERVICE = "install-controller"


async def login(kube: KubeClient) -> None:
    options = kopf.OperatorSettings()
    info = (kopf.login_with_service_account(settings=options)
            or kopf.login_with_kubeconfig(settings=options))
    if info is None:
        raise RuntimeError("no service account token and no kubeconfig (KUBECONFIG) found")
    await kube.use(info)


def build_app(settings: Settings) -> FastAPI:
    metrics = CollectorRegistry()
    broker = build_broker(settings.nats_url, SERVICE, metrics, auth=nats_auth(settings))
    kube = KubeClient(settings.kube_timeout_s)
    controller = InstallController(kube, settings.operator_namespace,
                                   settings.workspace_template)

    @subscribe(broker, Consumers.INSTALL_CONTROLLER)
    async def on_install(event: InstallEvent) -> None:
        await controller.handle(event)

    async def on_start() -> None:
        await login(kube)

    app = FastAPI(title="triage-install-controller", version="0.1.0",
                  lifespan=broker_lifespan(broker, settings, on_start, kube.close))
    app.state.controller = controller
    app.include_router(health_router(broker, metrics))
    return app
