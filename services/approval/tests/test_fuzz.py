"""Property-based fuzzing of the JSON API (hypothesis), with requests drawn from the app's
own OpenAPI document: every operation, its path and query parameters (enums and junk),
schema-shaped and arbitrary JSON bodies, raw bytes, wrong methods; sent by callers with no
identity, forged headers or tokens, two authenticated people of different teams, and the
trusted service. Properties: no answer is ever a 5xx; a caller without a verified
identity gets 401 and nothing else; nobody sees another team's approval; every decision
recorded was made by an approver of its team (the requester at most withdrew).

The service and the provider stand-in run under uvicorn in threads of their own (the
fuzzer's clients are synchronous); NATS is a real nats-server.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from triage_approval.app import build_app
from triage_contracts.broker import build_broker
from triage_contracts.bus import jetstream
from triage_contracts.streams import provision

from .conftest import (
    PROXY_AUDIENCE,
    REQUESTER,
    SERVICE_TOKEN,
    TEAM,
    Bus,
    Threaded,
    approval_request,
    make_settings,
)
from .idp import SLACK_TEAM, SLACK_USER, IdP, build_idp_app

EXAMPLES = 1500
UNVERIFIED = ("anonymous", "forged header", "forged bearer")
TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
SCALARS = (st.none() | st.booleans() | st.integers()
           | st.floats(allow_nan=False, allow_infinity=False) | TEXT)
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(TEXT, inner, max_size=4), max_leaves=12)


@pytest.fixture
def stack(nats_url: str, tmp_path: Path) -> Iterator[tuple[str, IdP, dict[str, list[str]]]]:
    from triage_contracts.testing.natsserver import free_port

    idp_port = free_port()
    idp = IdP(issuer=f"http://127.0.0.1:{idp_port}")
    settings_ = make_settings(nats_url, tmp_path, idp.issuer)
    with Threaded(build_idp_app(idp), idp_port), \
            Threaded(build_app(settings_), settings_.port) as service:
        ids = asyncio.run(_requests(nats_url))
        with httpx.Client(base_url=service.url, headers=_service_auth()) as http:
            _wait(lambda: all(_stored(http, team, approvals) for team, approvals in ids.items()))
        yield service.url, idp, ids


def test_fuzz_the_json_api(stack: tuple[str, IdP, dict[str, list[str]]]) -> None:
    url, idp, ids = stack
    every_id = [i for approvals in ids.values() for i in approvals]
    clients = _clients(url, idp)
    operations = _operations(clients["service"])
    tally: Counter[tuple[str, int]] = Counter()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(caller=st.sampled_from(sorted(clients)), op=st.sampled_from(operations),
           data=st.data())
    def fuzz(caller: str, op: dict[str, Any], data: st.DataObject) -> None:
        method, path, params, body = _draw_request(op, every_id, data)
        resp = clients[caller].request(method, path, params=params, **body)
        tally[(caller, resp.status_code)] += 1
        assert resp.status_code < 500, (caller, method, path, params, body, resp.text)
        if caller in UNVERIFIED:
            assert resp.status_code == 401, (caller, method, path, resp.text)
        if caller == "carol (T_OTHER)" and resp.status_code == 200:
            assert not any(i in resp.text for i in ids[TEAM]), resp.text

    try:
        fuzz()
        _decisions_were_made_by_approvers(clients["service"], ids)
    finally:
        print(f"fuzzed {sum(tally.values())} requests: "
              + ", ".join(f"{c} {s}: {n}" for (c, s), n in sorted(tally.items())))
        for client in clients.values():
            client.close()
    assert sum(tally.values()) >= EXAMPLES


def _draw_request(op: dict[str, Any], ids: list[str], data: st.DataObject
                  ) -> tuple[str, str, dict[str, str], dict[str, Any]]:
    method = data.draw(st.sampled_from([op["method"]] * 4 + ["PUT", "DELETE", "PATCH"]))
    path = op["path"]
    if "{approval_id}" in path:
        approval_id = data.draw(st.sampled_from(ids) | TEXT.filter(bool))
        path = path.replace("{approval_id}", quote(approval_id, safe=""))
    params = {}
    for param in op["query"]:
        values = st.sampled_from(param.get("enum", [])) if param.get("enum") else st.nothing()
        value = data.draw(st.none() | values | st.sampled_from([TEAM, "T_OTHER"]) | TEXT)
        if value is not None:
            params[param["name"]] = value
    body: dict[str, Any] = {}
    if op["body"]:
        body = data.draw(st.one_of(
            st.fixed_dictionaries({}, optional={
                "decision": st.sampled_from(["approve", "reject", "expire"]) | TEXT,
                "reason": TEXT, "approver_id": st.none() | st.sampled_from(
                    ["U_ALICE", "U_BOB", REQUESTER, "U_MALLORY"]) | TEXT,
                "team_id": st.none() | st.sampled_from([TEAM, "T_OTHER"]) | TEXT,
            }).map(lambda d: {"json": d}),
            JSON_VALUES.map(lambda v: {"json": v}),
            st.binary(max_size=80).map(lambda b: {"content": b, "headers": {
                "Content-Type": "application/json"}})))
    return method, path, params, body


def _operations(http: httpx.Client) -> list[dict[str, Any]]:
    """Every operation of the app's OpenAPI document, with its query parameters."""
    spec = http.get("/openapi.json").json()
    out = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            query = [{"name": p["name"], "enum": _enum(p.get("schema", {}))}
                     for p in op.get("parameters", []) if p["in"] == "query"]
            out.append({"method": method.upper(), "path": path, "query": query,
                        "body": "requestBody" in op})
    assert {o["path"] for o in out} >= {"/api/approvals", "/api/approvals/{approval_id}",
                                        "/api/approvals/{approval_id}/decision"}
    return out


def _enum(schema: dict[str, Any]) -> list[str]:
    options = schema.get("anyOf", [schema])
    return [v for option in options for v in option.get("enum", [])]


def _clients(url: str, idp: IdP) -> dict[str, httpx.Client]:
    def person(user: str, team: str) -> httpx.Client:
        token = idp.mint({SLACK_USER: user, SLACK_TEAM: team}, audience=PROXY_AUDIENCE,
                         lifetime=3600)
        client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
        csrf = client.get("/auth/session").json()["csrf_token"]
        client.headers["X-CSRF-Token"] = csrf
        return client

    return {
        "anonymous": httpx.Client(base_url=url),
        "forged header": httpx.Client(base_url=url, headers={"X-Forwarded-User": "U_ALICE"}),
        "forged bearer": httpx.Client(base_url=url, headers={
            "Authorization": "Bearer " + idp.mint({SLACK_USER: "U_ALICE"}, audience="nope")}),
        "alice (T_ACME)": person("U_ALICE", TEAM),
        "carol (T_OTHER)": person("U_CAROL", "T_OTHER"),
        "service": httpx.Client(base_url=url, headers=_service_auth()),
    }


def _decisions_were_made_by_approvers(http: httpx.Client, ids: dict[str, list[str]]) -> None:
    allowed = {TEAM: {"U_ALICE", "U_BOB", REQUESTER}, "T_OTHER": {"U_ALICE", "U_BOB",
                                                                 REQUESTER, "U_CAROL"}}
    for team in ids:
        for item in http.get("/api/approvals", params={"team_id": team}).json()["approvals"]:
            if item["status"] in ("approved", "rejected"):
                assert item["decided_by"] in allowed[team], item
            if item["status"] == "approved":
                assert item["decided_by"] != item["requester_id"], item


async def _requests(nats_url: str) -> dict[str, list[str]]:
    broker = build_broker(nats_url, "orchestrator-stand-in")
    await broker.connect()
    try:
        await provision(jetstream(broker))
        bus, ids = Bus(broker), {TEAM: [], "T_OTHER": []}
        for team in (TEAM, TEAM, TEAM, "T_OTHER", "T_OTHER"):
            ids[team].append((await bus.request(approval_request(team=team))).approval_id)
        return ids
    finally:
        await broker.stop()


def _stored(http: httpx.Client, team: str, approvals: list[str]) -> bool:
    listed = http.get("/api/approvals", params={"team_id": team}).json()["approvals"]
    return {a["approval_id"] for a in listed} == set(approvals)


def _service_auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {SERVICE_TOKEN}"}


def _wait(check: Any, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)

