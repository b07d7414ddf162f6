"""A `teamId` belongs to one Workspace: a second Workspace with the same team is refused
(Conflict, nothing of its own started, nothing of the first touched), deleting it leaves
the first one running, and it takes the team over once the first is gone. (Two Workspaces
with one teamId once shared the consumers; deleting either removed both's.)"""

import nats
from nats.js.errors import NotFoundError
from triage_contracts.streams import Buckets
from triage_contracts.workspaces import WorkspaceDirectory
from triage_operator.consumers import WORKSPACE_CONSUMERS

TEAM_CONSUMERS = ("orchestrator-events", "orchestrator-results", "orchestrator-decisions",
                  "tools", "router", "notifier")


async def team_consumers(nats_url: str, team: str) -> set[str]:
    """Which of the team's consumers exist in JetStream."""
    nc = await nats.connect(nats_url)
    js, found = nc.jetstream(), set()
    try:
        for spec in WORKSPACE_CONSUMERS:
            try:
                found.add((await js.consumer_info(spec.stream, f"{spec.durable}-{team}")).name)
            except NotFoundError:
                pass
    finally:
        await nc.close()
    return found


def all_of(team: str) -> set[str]:
    return {f"{name}-{team}" for name in TEAM_CONSUMERS}


async def holder(nats_url: str, team: str) -> str | None:
    nc = await nats.connect(nats_url)
    try:
        kv = await nc.jetstream().key_value(Buckets.WORKSPACES.name)
        return WorkspaceDirectory.model_validate_json((await kv.get(team)).value or b"").workspace
    except NotFoundError:
        return None
    finally:
        await nc.close()


def conflict(k8s, name: str) -> dict | None:
    body = k8s.current(k8s.WS, name) or {}
    return next((c for c in body.get("status", {}).get("conditions", [])
                 if c["type"] == "Conflict"), None)


async def test_a_claimed_team_is_refused_and_its_owner_survives_the_refused_ones_deletion(
        k8s, nats_url):
    async with k8s.operator(k8s.settings(nats_url, resync_interval_s=0.5)):
        await k8s.api("POST", body=k8s.workspace("first", team="T0007"))
        await k8s.eventually(lambda: k8s.is_ready("first"))
        await k8s.api("POST", body=k8s.workspace("second", team="T0007"))
        refused = await k8s.eventually(lambda: k8s.is_ready("second", "False", "Conflict"))
        assert "first" in refused["message"] and "T0007" in refused["message"]
        assert conflict(k8s, "second")["status"] == "True"
        second = k8s.current(k8s.WS, "second")["status"]
        assert "teamId" not in second and not second.get("consumers")
        assert k8s.current(k8s.DEPLOY, "triage-ws-second-tools") is None  # nothing started
        assert k8s.current(k8s.CM, "triage-ws-second") is None
        assert await holder(nats_url, "T0007") == "first"

        await k8s.api("DELETE", "second")
        await k8s.eventually(lambda: k8s.current(k8s.WS, "second") is None)
        assert await team_consumers(nats_url, "T0007") == all_of("T0007")  # untouched
        assert await holder(nats_url, "T0007") == "first"
        assert k8s.is_ready("first")

        # Once the owner is gone, a newcomer gets the team on its next resync.
        await k8s.api("POST", body=k8s.workspace("third", team="T0007"))
        await k8s.eventually(lambda: k8s.is_ready("third", "False", "Conflict"))
        await k8s.api("DELETE", "first")
        await k8s.eventually(lambda: k8s.current(k8s.WS, "first") is None)
        await k8s.eventually(lambda: k8s.is_ready("third"), within=60)
        assert conflict(k8s, "third") is None
    assert await holder(nats_url, "T0007") == "third"
    assert await team_consumers(nats_url, "T0007") == all_of("T0007")
    assert k8s.current(k8s.DEPLOY, "triage-ws-third-tools")["spec"]["replicas"] == 1


async def test_a_claim_left_by_a_vanished_workspace_is_taken_over(k8s, nats_url):
    nc = await nats.connect(nats_url)
    kv = await nc.jetstream().key_value(Buckets.WORKSPACES.name)
    ghost = WorkspaceDirectory(team_id="T0008", workspace="ghost", approvers=["U0009"])
    await kv.put("T0008", ghost.model_dump_json().encode())  # its Workspace is long gone
    await nc.close()
    async with k8s.operator(k8s.settings(nats_url)):
        await k8s.api("POST", body=k8s.workspace("acme", team="T0008"))
        await k8s.eventually(lambda: k8s.is_ready("acme"))
    assert await holder(nats_url, "T0008") == "acme"


async def test_a_pair_from_before_team_claims_keeps_the_holders_consumers(k8s, nats_url):
    """Two Workspaces of one team made by an older operator both recorded the team's
    consumers; deleting the one that does not hold the claim leaves them to the other."""
    async with k8s.operator(k8s.settings(nats_url)):
        await k8s.api("POST", body=k8s.workspace("first", team="T0006"))
        await k8s.eventually(lambda: k8s.is_ready("first"))
        recorded = k8s.current(k8s.WS, "first")["status"]["consumers"]
        legacy = k8s.workspace("second", team="T0006") | {
            "status": {"teamId": "T0006", "consumers": recorded}}
        await k8s.api("POST", body=legacy)
        await k8s.eventually(lambda: k8s.is_ready("second", "False", "Conflict"))

        await k8s.api("DELETE", "second")
        await k8s.eventually(lambda: k8s.current(k8s.WS, "second") is None)
        assert await team_consumers(nats_url, "T0006") == all_of("T0006")
        assert await holder(nats_url, "T0006") == "first"
