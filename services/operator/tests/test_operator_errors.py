"""Failures the operator must survive without a crash loop: a spec that cannot work
(permanent, reported), NATS down (temporary, retried until it is up), and a consumer that
cannot coexist with a shared one on the WORK queue (permanent, reported with NATS's text)."""

import asyncio

import nats
import pytest
from triage_contracts.streams import Consumers, provision, provision_consumer
from triage_contracts.testing.natsserver import NatsServer


def handled(k8s, name: str) -> bool:
    """kopf stores the handled spec once it is done with it (success or permanent failure)."""
    meta = k8s.current(k8s.WS, name)["metadata"]
    return "triage.dev/last-handled-configuration" in meta.get("annotations", {})


async def writes_during(k8s, name: str, seconds: float = 2.5) -> int:
    """Workspace writes over a period longer than the retry backoff (1 s max in tests):
    zero means kopf stopped retrying; a temporary error keeps writing its progress.

    First wait for a quiet moment: kmock keeps resourceVersion fixed and replays the object
    on watch, so kopf may process the creation twice (harmless: handlers are idempotent)."""
    await k8s.eventually(lambda: handled(k8s, name), within=30)
    seen = -1
    while seen != k8s.versions(name):
        seen = k8s.versions(name)
        await asyncio.sleep(0.5)
    await asyncio.sleep(seconds)
    return k8s.versions(name) - seen


async def consumer_names(nats_url: str) -> list[str]:
    """Every consumer on the (provisioned) streams, read as test-admin."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        return [c.name for s in await js.streams_info()
                for c in await js.consumers_info(s.config.name)]
    finally:
        await nc.close()


@pytest.mark.parametrize("bad, field", [
    ({"teamId": "not-a-team"}, "teamId"),
    ({"workers": {"replicas": 99}}, "workers.replicas"),
    ({"githubRepos": ["no-slash"]}, "githubRepos.0"),
])
async def test_invalid_spec_is_rejected_with_a_reason_and_not_retried(k8s, nats_url, bad, field):
    async with k8s.operator(k8s.settings(nats_url)):
        await k8s.api("POST", body=k8s.workspace("broken", **bad))
        cond = await k8s.eventually(lambda: k8s.is_ready("broken", "False", "InvalidSpec"))
        assert await writes_during(k8s, "broken") == 0  # permanent: not retried

    assert f"spec.{field}" in cond["message"]
    assert "teamId" not in k8s.current(k8s.WS, "broken")["status"]
    assert k8s.current(k8s.WS, "broken")["status"]["phase"] == "Degraded"
    assert k8s.current(k8s.CM, "triage-ws-broken") is None
    assert k8s.current(k8s.DEPLOY, "triage-ws-broken-tools") is None
    assert await consumer_names(nats_url) == []  # no consumer for a broken spec


async def test_nats_down_is_retried_until_it_comes_up(k8s):
    # Its port is reserved, nothing listens yet.
    server = NatsServer(sync_interval="1s", test_admin=True)
    async with k8s.operator(k8s.settings(server.url)):
        await k8s.api("POST", body=k8s.workspace("acme"))
        cond = await k8s.eventually(lambda: k8s.is_ready("acme", "False", "NatsUnavailable"))
        assert server.url in cond["message"]
        before = k8s.versions("acme")
        await asyncio.sleep(2.0)
        assert k8s.versions("acme") > before  # temporary: retried with backoff
        assert not handled(k8s, "acme")
        assert k8s.current(k8s.DEPLOY, "triage-ws-acme-tools") is None  # consumers first

        with server:
            cond = await k8s.eventually(lambda: k8s.is_ready("acme"), within=30)
            assert cond["reason"] == "Reconciled"
            nc = await nats.connect(server.admin_url)
            info = await nc.jetstream().consumer_info("WORK", "tools-T0001")
            await nc.close()
    assert info.config.filter_subject == "triage.work.tool.T0001.>"
    assert k8s.current(k8s.DEPLOY, "triage-ws-acme-tools")["spec"]["replicas"] == 1


# The chart's shared workers on WORK: tools, and the router (shared too before it became a
# per-workspace worker; its durable stays behind after an upgrade until it is removed).
@pytest.mark.parametrize("shared", [Consumers.TOOLS, Consumers.ROUTER], ids=lambda c: c.durable)
async def test_a_shared_work_consumer_conflict_is_reported_not_crash_looped(
        k8s, nats_url, shared):
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await provision(js)
    await provision_consumer(js, shared)
    await nc.close()

    async with k8s.operator(k8s.settings(nats_url)):
        await k8s.api("POST", body=k8s.workspace("acme"))
        cond = await k8s.eventually(lambda: k8s.is_ready("acme", "False", "ConsumerConflict"))
        assert await writes_during(k8s, "acme") == 0  # permanent: no crash loop
        assert k8s.current(k8s.DEPLOY, "triage-ws-acme-tools") is None  # no failing pods
        # Whatever may exist is recorded, so deleting the Workspace would clean it up.
        owned = {c["name"] for c in k8s.current(k8s.WS, "acme")["status"]["consumers"]}
        assert f"{shared.durable}-T0001" in owned

        # The documented way out: remove the shared consumer, then touch the Workspace.
        nc = await nats.connect(nats_url)
        await nc.jetstream().delete_consumer("WORK", shared.durable)
        await nc.close()
        touch = {"metadata": {"annotations": {"reconcile.triage.dev/requested-at": "1"}}}
        await k8s.api("PATCH", "acme", touch)
        await k8s.eventually(lambda: k8s.is_ready("acme"))

    assert "filtered consumer not unique on workqueue stream" in cond["message"]
    assert "sharedWorkers.enabled=false" in cond["message"]
    assert k8s.current(k8s.DEPLOY, "triage-ws-acme-tools")["spec"]["replicas"] == 1


async def test_api_unavailable_is_retried_until_it_answers(k8s, nats_url):
    # The first Deployment creation meets an API server in trouble.
    failing = k8s.kmock["post", k8s.kmock.resource(k8s.DEPLOY)][:1] << 503 << {
        "kind": "Status", "code": 503, "message": "etcdserver: leader changed"}
    # The transient False condition is looked up in the object's history, so a poll that
    # comes late on a loaded machine (after the retry turned it True) still sees it.
    async with k8s.operator(k8s.settings(nats_url)):
        await k8s.api("POST", body=k8s.workspace("acme"))
        await k8s.eventually(lambda: k8s.is_ready("acme"), within=60)
        cond = k8s.was("acme", "False", "KubernetesApiError")
        assert cond and "503" in cond["message"] and "leader changed" in cond["message"]
    assert len(failing) == 1  # the failure was served, then the retry went through
    assert k8s.current(k8s.DEPLOY, "triage-ws-acme-tools")["spec"]["replicas"] == 1
