"""Approvers from the workspace directory on a real nats-server, written exactly as the
operator writes them (`WorkspaceDirectory` under the team's key in `triage-workspaces`):
an entry lets its approvers decide, removing someone revokes at once, a token without a
team claim sees the teams its person approves for, and an unreadable entry only ever
leaves fewer approvers."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from nats.js.kv import KeyValue
from triage_contracts.bus import jetstream
from triage_contracts.natsauth import nats_auth
from triage_contracts.streams import Buckets
from triage_contracts.workspaces import WorkspaceDirectory, directory_key
from triage_operator.directory import claim
from triage_operator.settings import Settings as OperatorSettings
from triage_operator.spec import parse_spec

from .conftest import TEAM, Bus, Service, approval_request, make_settings, serve, stop
from .idp import IdP


@pytest.fixture
async def workspaces(bus: Bus) -> KeyValue:
    return await jetstream(bus.broker).key_value(Buckets.WORKSPACES.name)


@pytest.fixture
async def bare(nats_url: str, tmp_path: Path, bus: Bus, idp: IdP) -> AsyncIterator[Service]:
    """The service with no APPROVERS at all: only the directory names approvers."""
    settings = make_settings(nats_url, tmp_path, idp.issuer, approvers="")
    server, task, url = await serve(settings)
    async with httpx.AsyncClient(base_url=url, timeout=15) as http:
        running = Service(server.config.app, http, settings, idp)
        yield running
        await running.close()
    await stop(server, task)


async def publish(kv: KeyValue, team: str, *users: str) -> None:
    entry = WorkspaceDirectory(team_id=team, workspace=f"ws-{team.lower()}",
                               approvers=list(users))
    await kv.put(directory_key(team), entry.model_dump_json().encode())


async def test_the_workspace_lists_who_approves(bare: Service, bus: Bus,
                                                workspaces: KeyValue) -> None:
    first, second = (await bus.request(approval_request()), await bus.request(approval_request()))
    for req in (first, second):
        await bare.wait_stored(req.approval_id)
    refused = await bare.decide(first.approval_id, "U_WS", "approve")
    assert refused.status_code == 403 and "not an approver" in refused.json()["detail"]

    await publish(workspaces, TEAM, "U_WS", "U_LEAD")
    assert (await bare.decide(first.approval_id, "U_WS", "approve")).status_code == 200

    await publish(workspaces, TEAM, "U_LEAD")  # U_WS removed from the Workspace
    assert (await bare.decide(second.approval_id, "U_WS", "approve")).status_code == 403
    await workspaces.delete(directory_key(TEAM))  # the Workspace is deleted
    assert (await bare.decide(second.approval_id, "U_LEAD", "approve")).status_code == 403


async def test_without_a_team_claim_a_person_sees_the_teams_they_approve_for(
        bare: Service, bus: Bus, workspaces: KeyValue) -> None:
    mine = [await bus.request(approval_request(team=t)) for t in (TEAM, "T_TWO")]
    others = await bus.request(approval_request(team="T_THREE"))
    for req in (*mine, others):
        await bare.wait_stored(req.approval_id, team=req.team_id)
    await publish(workspaces, TEAM, "U_WS")
    await publish(workspaces, "T_TWO", "U_WS")
    await publish(workspaces, "T_THREE", "U_SOMEONE")

    person = bare.person("U_WS", team=None)
    listed = (await person.http.get("/api/approvals")).json()["approvals"]
    assert {a["approval_id"] for a in listed} == {r.approval_id for r in mine}
    assert (await person.http.get(f"/api/approvals/{others.approval_id}")).status_code == 404
    me = (await person.http.get("/auth/session")).json()
    assert me["teams"] == sorted([TEAM, "T_TWO"])
    decided = await person.decide(mine[1].approval_id, "approve")
    assert decided.status_code == 200, decided.text


async def test_an_unreadable_entry_leaves_fewer_approvers(service: Service, bus: Bus,
                                                          workspaces: KeyValue) -> None:
    req = await bus.request(approval_request())
    await service.wait_stored(req.approval_id)
    await workspaces.put(directory_key(TEAM), b'{"team_id": "T_ACME", "approvers": 7}')
    await workspaces.put(directory_key("T_OTHER"), WorkspaceDirectory(
        team_id=TEAM, workspace="liar", approvers=["U_MALLORY"]).model_dump_json().encode())
    # U_MALLORY is listed for T_ACME only under T_OTHER's key: not believed.
    assert (await service.decide(req.approval_id, "U_MALLORY", "approve")).status_code == 403
    # APPROVERS still applies (U_ALICE approves for every team).
    assert (await service.decide(req.approval_id, "U_ALICE", "approve")).status_code == 200


async def test_the_operators_entry_for_a_workspace_names_its_approvers(
        bare: Service, bus: Bus, nats_url: str) -> None:
    """End to end from the Workspace spec: the operator's own `directory.claim` (as the
    operator's NATS identity) publishes `spec.approvers`, and only they may decide."""
    team = "T0ACME"
    ws = parse_spec("acme", {"teamId": team, "approvers": ["U0LEAD"]})
    auth = nats_auth(OperatorSettings(_env_file=None))  # type: ignore[call-arg]
    assert await claim(nats_url, "acme", ws, 5.0, auth) is None
    req = await bus.request(approval_request(team=team))
    await bare.wait_stored(req.approval_id, team=team)
    stranger = await bare.decide(req.approval_id, "U0OTHER", "approve", team=team)
    assert stranger.status_code == 403
    assert (await bare.decide(req.approval_id, "U0LEAD", "approve", team=team)).status_code \
        == 200
