"""The real operator's flows with its Workspaces on a real API server (core kinds from kmock):
what the emulator cannot show is the server's own part — uid and generation it assigns, the
status subresource kopf must use, finalizers holding a deletion until the operator releases
them."""

from typing import Any

import nats
from nats.js.errors import NotFoundError
from operatorkit import CM, DEPLOY

FINALIZER = "triage.dev/cleanup"


async def existing(nats_url: str, consumers: list[dict[str, Any]]) -> set[str]:
    """Which of the consumers a Workspace's status records exist in JetStream."""
    nc = await nats.connect(nats_url)
    js, found = nc.jetstream(), set()
    try:
        for ref in consumers:
            try:
                found.add((await js.consumer_info(ref["stream"], ref["name"])).name)
            except NotFoundError:
                pass
    finally:
        await nc.close()
    return found


async def test_create_update_delete(tier, nats_url):
    async with tier.operator(tier.settings(nats_url)):
        created = await tier.create(tier.workspace("acme"))
        cond = await tier.eventually(lambda: tier.is_ready("acme"))
        assert cond["reason"] == "Reconciled" and cond["observedGeneration"] == 1

        body = await tier.get("acme")
        assert body["status"]["phase"] == "Ready"
        assert FINALIZER in body["metadata"]["finalizers"]
        assert body["spec"]["workers"] == {"replicas": 1}  # the CRD's default, applied
        deploy = tier.core(DEPLOY, "triage-ws-acme-tools")
        owner = deploy["metadata"]["ownerReferences"][0]
        assert (owner["name"], owner["uid"]) == ("acme", created["metadata"]["uid"])
        recorded = body["status"]["consumers"]
        assert {c["filterSubject"] for c in recorded} >= {"triage.event.T0001.>"}
        assert await existing(nats_url, recorded) == {c["name"] for c in recorded}

        # The server bumps the generation on a spec change (the emulator had to be told).
        patched = await tier.patch("acme", {"spec": {"workers": {"replicas": 3}}})
        assert patched["metadata"]["generation"] == 2
        await tier.eventually(lambda: _observed(tier, "acme", 2))
        assert tier.core(DEPLOY, "triage-ws-acme-tools")["spec"]["replicas"] == 3
        assert (await tier.is_ready("acme"))["observedGeneration"] == 2

        # Deletion waits for the operator's finalizer, then the object is gone for real.
        await tier.delete("acme")
        await tier.eventually(lambda: tier.is_gone("acme"))
    assert tier.core(DEPLOY, "triage-ws-acme-tools") is None
    assert tier.core(DEPLOY, "triage-ws-acme-orchestrator") is None
    assert tier.core(CM, "triage-ws-acme") is None
    assert await existing(nats_url, recorded) == set()


async def test_a_claimed_team_is_refused(tier, nats_url):
    async with tier.operator(tier.settings(nats_url, resync_interval_s=0.5)):
        await tier.create(tier.workspace("first", team="T0007"))
        await tier.eventually(lambda: tier.is_ready("first"))
        owned = (await tier.get("first"))["status"]["consumers"]
        await tier.create(tier.workspace("second", team="T0007"))
        refused = await tier.eventually(lambda: tier.is_ready("second", "False", "Conflict"))
        assert "first" in refused["message"] and "T0007" in refused["message"]
        assert (await tier.condition("second", "Conflict"))["status"] == "True"
        assert tier.core(DEPLOY, "triage-ws-second-tools") is None  # nothing started
        assert not (await tier.get("second"))["status"].get("consumers")

        # Deleting the refused one leaves the owner's consumers and readiness alone.
        await tier.delete("second")
        await tier.eventually(lambda: tier.is_gone("second"))
        assert await existing(nats_url, owned) == {c["name"] for c in owned}
        assert await tier.eventually(lambda: tier.is_ready("first"))


async def _observed(tier, name: str, generation: int) -> bool:
    body = await tier.get(name) or {}
    return body.get("status", {}).get("observedGeneration") == generation
