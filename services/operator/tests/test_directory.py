"""The real operator against kmock and a real nats-server keeps each Workspace's approvers,
model routes and budget in the workspace directory (the KV bucket the approval service and
the router read): written on create and on every change, moved with the teamId, withdrawn
on delete, and never another Workspace's entry."""

import nats
from nats.js.errors import KeyDeletedError, KeyNotFoundError
from triage_contracts.streams import Buckets
from triage_contracts.workspaces import RouteTarget, WorkspaceDirectory


async def entry(nats_url: str, team: str) -> WorkspaceDirectory | None:
    nc = await nats.connect(nats_url)
    try:
        kv = await nc.jetstream().key_value(Buckets.WORKSPACES.name)
        return WorkspaceDirectory.model_validate_json((await kv.get(team)).value or b"")
    except (KeyNotFoundError, KeyDeletedError):  # never written, or withdrawn
        return None
    finally:
        await nc.close()


async def approvers(nats_url: str, team: str) -> list[str] | None:
    found = await entry(nats_url, team)
    return None if found is None else found.approvers


async def test_approvers_follow_the_workspace(k8s, nats_url):
    async with k8s.operator(k8s.settings(nats_url)):
        await k8s.api("POST", body=k8s.workspace("acme", approvers=["U0001"]))
        await k8s.eventually(lambda: k8s.is_ready("acme"))
        first = await entry(nats_url, "T0001")
        assert first is not None and first.workspace == "acme"
        assert first.approvers == ["U0001"] and first.team_id == "T0001"
        # What the router routes and budgets the team's model calls by.
        assert first.budget_usd_per_day == 3.5
        assert first.model_routes == {"draft": [
            RouteTarget(provider="openai", model="gpt-4o-mini"),
            RouteTarget(provider="offline", model="offline")]}

        await k8s.api("PATCH", "acme", {"metadata": {"generation": 2},
                                        "spec": {"approvers": ["U0001", "U0002"]}})
        await k8s.eventually(
            lambda: k8s.current(k8s.WS, "acme")["status"].get("observedGeneration") == 2)
        assert await approvers(nats_url, "T0001") == ["U0001", "U0002"]

        await k8s.api("PATCH", "acme", {"metadata": {"generation": 3},
                                        "spec": {"teamId": "T0002"}})
        await k8s.eventually(
            lambda: k8s.current(k8s.WS, "acme")["status"].get("teamId") == "T0002")
        assert await approvers(nats_url, "T0002") == ["U0001", "U0002"]
        assert await entry(nats_url, "T0001") is None

        await k8s.api("DELETE", "acme")
        await k8s.eventually(lambda: k8s.current(k8s.WS, "acme") is None)
    assert await entry(nats_url, "T0002") is None


async def test_deleting_one_workspace_keeps_anothers_entry(k8s, nats_url):
    async with k8s.operator(k8s.settings(nats_url)):
        await k8s.api("POST", body=k8s.workspace("old", team="T0009", approvers=["U0001"]))
        await k8s.eventually(lambda: k8s.is_ready("old"))
        # A second Workspace for the team is refused: the entry stays the first one's.
        await k8s.api("POST", body=k8s.workspace("new", team="T0009", approvers=["U0002"]))
        await k8s.eventually(lambda: k8s.is_ready("new", "False", "Conflict"))
        assert (await entry(nats_url, "T0009")).workspace == "old"

        await k8s.api("DELETE", "new")
        await k8s.eventually(lambda: k8s.current(k8s.WS, "new") is None)
        kept = await entry(nats_url, "T0009")
        assert kept is not None and kept.workspace == "old" and kept.approvers == ["U0001"]
