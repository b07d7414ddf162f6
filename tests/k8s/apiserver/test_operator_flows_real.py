"""More of the real operator's flows on the real API server (core kinds from kmock): a team
change, drift repaired by the resync, and the install controller and the operator together
(kmock alone cannot host both: it sets no resourceVersion, which kopf's patches need).

The server does its own part here: it bumps the generation on a spec change, keeps the
status apart from the spec (the controller's phase and the operator's conditions are both
status writes), and holds a deletion until the operator's finalizer is released."""

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import nats
from nats.js.errors import NotFoundError
from operatorkit import CM, DEPLOY
from triage_contracts import subjects
from triage_contracts.broker import build_broker
from triage_contracts.bus import publish
from triage_contracts.messages import InstallEvent, InstallKind
from triage_operator.install.app import build_app
from triage_operator.install.settings import Settings as InstallSettings

TEMPLATE = {"workers": {"replicas": 2}, "channels": ["C0001"]}


async def filters(nats_url: str, team: str) -> dict[str, str]:
    """The durable consumers scoped to `team`, by name, with their filter subjects."""
    nc = await nats.connect(nats_url)
    js, found = nc.jetstream(), {}
    try:
        for stream in ("EVENTS", "WORK", "RESULTS", "APPROVALS"):
            try:
                for info in await js.consumers_info(stream):
                    if info.name.endswith(f"-{team}"):
                        found[info.name] = info.config.filter_subject
            except NotFoundError:
                pass
    finally:
        await nc.close()
    return found


def env_of(deploy: dict[str, Any]) -> dict[str, str]:
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", "") for e in container["env"]}


async def test_a_team_change_moves_the_consumers_and_the_workers(tier, nats_url):
    async with tier.operator(tier.settings(nats_url)):
        await tier.create(tier.workspace("acme", team="T0001"))
        await tier.eventually(lambda: tier.is_ready("acme"))
        before = await filters(nats_url, "T0001")
        assert before["tools-T0001"] == "triage.work.tool.T0001.>"

        patched = await tier.patch("acme", {"spec": {"teamId": "T0002"}})
        assert patched["metadata"]["generation"] == 2  # the server's, not the test's

        async def moved() -> bool:
            body = await tier.get("acme") or {}
            return body.get("status", {}).get("teamId") == "T0002" and bool(
                await tier.is_ready("acme"))

        await tier.eventually(moved)
        after = await filters(nats_url, "T0002")
        assert {name.removesuffix("-T0002") for name in after} == \
            {name.removesuffix("-T0001") for name in before}
        assert after["tools-T0002"] == "triage.work.tool.T0002.>"
        assert await filters(nats_url, "T0001") == {}
        assert env_of(tier.core(DEPLOY, "triage-ws-acme-tools"))["TEAM_SCOPE"] == "T0002"


async def test_the_resync_repairs_drift_in_the_cluster_and_in_nats(tier, nats_url):
    async with tier.operator(tier.settings(nats_url, resync_interval_s=1.0)):
        await tier.create(tier.workspace("acme"))
        await tier.eventually(lambda: tier.is_ready("acme"))
        # Someone deletes a worker and the config by hand; JetStream loses a consumer.
        for resource, name in ((DEPLOY, "triage-ws-acme-tools"), (CM, "triage-ws-acme")):
            group = "apis/apps/v1" if resource == DEPLOY else "api/v1"
            kind = resource.rsplit("/", 1)[1]
            async with tier.emulator.delete(
                    f"/{group}/namespaces/{tier.ns}/{kind}/{name}") as resp:
                assert resp.status == 200
        nc = await nats.connect(nats_url)
        await nc.jetstream().delete_consumer("WORK", "tools-T0001")
        await nc.close()

        async def repaired() -> bool:
            found = await filters(nats_url, "T0001")
            return (tier.core(DEPLOY, "triage-ws-acme-tools") is not None
                    and tier.core(CM, "triage-ws-acme") is not None
                    and found.get("tools-T0001") == "triage.work.tool.T0001.>")

        # Waited on: a resync that began before the consumer went brings the rest back
        # without it; the next one repairs it.
        await tier.eventually(repaired)
        assert await tier.eventually(lambda: tier.is_ready("acme"))
        assert (await tier.get("acme"))["metadata"]["generation"] == 1  # no spec write


@contextlib.asynccontextmanager
async def install_controller(tier, nats_url: str
                             ) -> AsyncIterator[Callable[[InstallEvent], Awaitable[None]]]:
    """The install controller's app, as uvicorn runs it (its lifespan, kopf's kubeconfig
    login to the tier's proxy), and a publisher of install events as the ingress sends them."""
    settings = InstallSettings(_env_file=None, nats_url=nats_url,  # type: ignore[call-arg]
                               operator_namespace=tier.ns, workspace_template=TEMPLATE)
    app = build_app(settings)
    admin = build_broker(nats_url, "test-harness")
    await admin.connect()
    try:
        async with app.router.lifespan_context(app):
            async def send(ev: InstallEvent) -> None:
                await publish(admin, ev, subjects.install(ev.team_id, ev.install_kind.value),
                              msg_id=ev.event_id)

            yield send
    finally:
        await admin.stop()


async def test_an_install_deploys_the_team_and_an_uninstall_removes_it(tier, nats_url):
    """Slack install event -> the controller creates the Workspace -> the operator deploys
    its workers and consumers and reports Ready; the uninstall deletes the Workspace, and
    the operator's finalizer removes everything before the object goes."""
    async with tier.operator(tier.settings(nats_url)), \
            install_controller(tier, nats_url) as send:
        await send(InstallEvent(event_id="Ev1", install_kind=InstallKind.INSTALLED,
                                team_id="T0ABC", team_name="Acme"))
        await tier.eventually(lambda: tier.is_ready("team-t0abc"))
        body = await tier.get("team-t0abc")
        assert body["spec"]["teamId"] == "T0ABC" and body["spec"]["workers"]["replicas"] == 2
        assert body["status"]["phase"] == "Ready"  # Installed, then the operator's Ready
        assert tier.core(DEPLOY, "triage-ws-team-t0abc-orchestrator")["spec"]["replicas"] == 2
        assert (await filters(nats_url, "T0ABC"))["orchestrator-events-T0ABC"] == \
            "triage.event.T0ABC.>"

        await send(InstallEvent(event_id="Ev2", install_kind=InstallKind.UNINSTALLED,
                                team_id="T0ABC"))
        await tier.eventually(lambda: tier.is_gone("team-t0abc"))
        assert tier.core(DEPLOY, "triage-ws-team-t0abc-orchestrator") is None
        assert await filters(nats_url, "T0ABC") == {}
