"""The install controller (`python -m triage_operator.install`'s app) against kmock and a
real nats-server: install events published on INSTALLS, as the ingress publishes them,
create the team's Workspace from the template and removals delete it; redelivery changes
nothing; a Workspace made by hand for the team is left alone and the conflict reported as
a Kubernetes Event.

(The operator itself is not run here: kmock sets no resourceVersion on created objects,
which kopf's patches require; test_operator_lifecycle.py shows it writing the phase, and
tests/k8s/apiserver/test_operator_flows_real.py runs both together on a real API server.)"""

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from triage_contracts import subjects
from triage_contracts.broker import build_broker
from triage_contracts.bus import publish
from triage_contracts.messages import InstallEvent, InstallKind
from triage_operator.install.app import build_app
from triage_operator.install.decide import Create, Delete, Leave
from triage_operator.install.settings import Settings

EVENTS = "v1/events"
TEMPLATE = {"workers": {"replicas": 2}, "approvers": ["U0LEAD"],
            "modelRoutes": {"draft": [{"provider": "offline", "model": "offline"}]}}


def event(kind: InstallKind, team: str = "T0ABC", event_id: str = "Ev1",
          **fields: Any) -> InstallEvent:
    return InstallEvent(event_id=event_id, install_kind=kind, team_id=team, **fields)


@contextlib.asynccontextmanager
async def controller(k8s, nats_url: str) -> AsyncIterator[Any]:
    """The controller app started as uvicorn would (its lifespan), yielding a publisher."""
    settings = Settings(_env_file=None, nats_url=nats_url,  # type: ignore[call-arg]
                        operator_namespace=k8s.NS, workspace_template=TEMPLATE)
    app = build_app(settings)
    admin = build_broker(nats_url, "test-harness")
    await admin.connect()
    try:
        async with app.router.lifespan_context(app):
            async def send(ev: InstallEvent) -> None:
                subject = subjects.install(ev.team_id, ev.install_kind.value)
                await publish(admin, ev, subject, msg_id=ev.event_id)

            send.controller = app.state.controller  # type: ignore[attr-defined]
            yield send
    finally:
        await admin.stop()


def conflicts(k8s, workspace: str) -> list[dict[str, Any]]:
    return [obj.raw for (resource, _ns, _name), obj in k8s.kmock.objects.items()
            if resource == EVENTS and not obj.deleted
            and obj.raw["involvedObject"]["name"] == workspace]


async def test_an_install_creates_the_workspace_and_a_removal_deletes_it(k8s, nats_url):
    async with controller(k8s, nats_url) as send:
        await send(event(InstallKind.INSTALLED, team_name="Acme <Corp>"))
        body = await k8s.eventually(lambda: k8s.current(k8s.WS, "team-t0abc"))
        assert body["spec"] == TEMPLATE | {"teamId": "T0ABC"}
        labels = body["metadata"]["labels"]
        assert labels == {"app.kubernetes.io/managed-by": "triage-install-controller",
                          "triage.dev/team-id": "T0ABC"}
        assert body["metadata"]["annotations"] == {"triage.dev/team-name": "Acme <Corp>"}
        await k8s.eventually(
            lambda: (k8s.current(k8s.WS, "team-t0abc") or {}).get("status", {}).get("phase")
            == "Installed")

        await send(event(InstallKind.UNINSTALLED, event_id="Ev2"))
        await k8s.eventually(lambda: k8s.current(k8s.WS, "team-t0abc") is None)
        assert k8s.last(k8s.WS, "team-t0abc")["status"]["phase"] == "Uninstalling"


async def test_redelivery_and_reinstalls_change_nothing(k8s, nats_url):
    async with controller(k8s, nats_url) as send:
        installed = event(InstallKind.INSTALLED)
        assert isinstance(await send.controller.handle(installed), Create)
        versions = k8s.versions("team-t0abc")
        # The same message again (a redelivery after a lost ack), and a second install.
        assert isinstance(await send.controller.handle(installed), Leave)
        assert isinstance(await send.controller.handle(event(InstallKind.INSTALLED,
                                                             event_id="Ev9")), Leave)
        assert k8s.versions("team-t0abc") == versions

        removed = event(InstallKind.TOKENS_REVOKED, event_id="Ev3")
        assert isinstance(await send.controller.handle(removed), Delete)
        assert isinstance(await send.controller.handle(removed), Leave)
        assert k8s.current(k8s.WS, "team-t0abc") is None


async def test_a_workspace_made_by_hand_is_left_alone_and_the_conflict_reported(
        k8s, nats_url):
    hand_made = await k8s.api("POST", body=k8s.workspace("acme", team="T0HAND"))
    async with controller(k8s, nats_url) as send:
        await send(event(InstallKind.INSTALLED, team="T0HAND"))
        [report] = await k8s.eventually(lambda: conflicts(k8s, "acme"))
        assert (report["reason"], report["type"]) == ("InstallConflict", "Warning")
        assert "made by hand" in report["message"]

        await send(event(InstallKind.UNINSTALLED, team="T0HAND", event_id="Ev2"))
        await k8s.eventually(lambda: len(conflicts(k8s, "acme")) == 2)
    assert k8s.current(k8s.WS, "acme") == hand_made
    assert k8s.current(k8s.WS, "team-t0hand") is None


@pytest.mark.parametrize("kind", [InstallKind.INSTALLED, InstallKind.UNINSTALLED])
async def test_an_org_wide_install_deploys_nothing(k8s, nats_url, kind):
    async with controller(k8s, nats_url) as send:
        org = event(kind, team="E0ORG", enterprise_id="E0ORG", is_enterprise_install=True)
        action = await send.controller.handle(org)
        assert isinstance(action, Leave) and "org-wide" in action.reason
    assert not [key for key in k8s.kmock.objects if key[0] == k8s.WS]


async def test_the_charts_role_grants_exactly_what_the_controller_uses(k8s, nats_url):
    """Every request of an install, a removal and a conflict is allowed by the chart's
    install-controller Role, and every verb it grants is used."""
    await k8s.api("POST", body=k8s.workspace("acme", team="T0HAND"))
    async with controller(k8s, nats_url) as send:
        for ev in (event(InstallKind.INSTALLED), event(InstallKind.UNINSTALLED, event_id="E2"),
                   event(InstallKind.INSTALLED, team="T0HAND", event_id="E3")):
            await send.controller.handle(ev)
    assert k8s.used() == k8s.granted("install-controller-rbac.yaml")

