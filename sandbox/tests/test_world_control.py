"""Replacing a running stand-in's world (`PUT /sandbox/world`): only with the control
token, the new world served at once by GitHub, Prometheus and Alertmanager alike, the
old one's recorded effects forgotten, and a bad world refused with the reason."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from triage_sandbox.alertmanager_api import build_alertmanager_api
from triage_sandbox.demo_data import build_demo
from triage_sandbox.github_api import build_github_api
from triage_sandbox.prometheus_api import build_prometheus_api

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
TOKEN = "control-" + "x" * 16
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TINY: dict[str, Any] = {
    "org": "acme",
    "people": {"ann": {"name": "Ann", "id": 7}},
    "repos": {"shop": {"id": 11, "issues": [
        {"number": 5, "title": "Cart is empty after login", "author": "ann",
         "created": "-2h"}]}},
    "series": [{"metric": "up", "labels": {"job": "shop"}, "values": [{"value": 0}]}],
    "alerts": [{"name": "ShopDown", "expr": "up == 0", "labels": {"severity": "page"},
                "active": "-30m", "for": "5m"}],
}


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sb")


@pytest.fixture
async def gh() -> AsyncIterator[httpx.AsyncClient]:
    async with client(build_github_api(demo=build_demo(NOW), control_token=TOKEN)) as c:
        yield c


async def test_without_the_token_the_world_stays(gh: httpx.AsyncClient) -> None:
    body = {"world": TINY}
    assert (await gh.put("/sandbox/world", json=body)).status_code == 401
    wrong = {"Authorization": "Bearer control-guess"}
    assert (await gh.put("/sandbox/world", json=body, headers=wrong)).status_code == 401
    assert (await gh.get("/repos/demo-org/checkout-api")).status_code == 200
    async with client(build_github_api(demo=build_demo(NOW))) as closed:
        refused = await closed.put("/sandbox/world", json=body, headers=AUTH)
        assert refused.status_code == 403 and "SANDBOX_CONTROL_TOKEN" in refused.text


async def test_github_serves_the_new_world_and_forgets_the_old_effects(
        gh: httpx.AsyncClient) -> None:
    posted = await gh.post("/repos/demo-org/checkout-api/issues/42/comments",
                           json={"body": "before"})
    assert posted.status_code == 201
    assert len((await gh.get("/sandbox/comments")).json()) == 1
    replaced = await gh.put("/sandbox/world", json={"world": TINY, "now": NOW.isoformat()},
                            headers=AUTH)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["repos"] == ["acme/shop"]
    assert (await gh.get("/sandbox/comments")).json() == []
    assert (await gh.get("/repos/demo-org/checkout-api")).status_code == 404
    issue = (await gh.get("/repos/acme/shop/issues/5")).json()
    assert issue["title"] == "Cart is empty after login"
    assert issue["created_at"] == "2025-03-10T10:00:00Z"  # "-2h" from the `now` sent


async def test_a_world_may_extend_a_packaged_one_but_no_path(gh: httpx.AsyncClient) -> None:
    extra = {"extends": "oncall", "repos": {"checkout-api": {"issues": [
        {"number": 77, "title": "Planted", "author": "alice-dev", "created": "-1h"}]}}}
    ok = await gh.put("/sandbox/world", json={"world": extra}, headers=AUTH)
    assert ok.status_code == 200, ok.text
    assert (await gh.get("/repos/demo-org/checkout-api/issues/77")).json()["title"] == "Planted"
    assert (await gh.get("/repos/demo-org/checkout-api/issues/42")).status_code == 200
    for parent in ("../../etc/passwd", "/tmp/world.yaml", "nope"):
        bad = await gh.put("/sandbox/world", json={"world": {"extends": parent}},
                           headers=AUTH)
        assert bad.status_code == 422 and "not a packaged world" in bad.json()["error"]


async def test_a_bad_world_is_refused_with_the_reason(gh: httpx.AsyncClient) -> None:
    dangling = {"repos": {"shop": {"id": 1, "runs": [{"commit": "nope"}]}}}
    bad = await gh.put("/sandbox/world", json={"world": dangling}, headers=AUTH)
    assert bad.status_code == 422 and "no commit with id 'nope'" in bad.json()["error"]
    typo = await gh.put("/sandbox/world", json={"world": {"repoz": {}}}, headers=AUTH)
    assert typo.status_code == 422 and "repoz" in typo.json()["error"]
    assert (await gh.get("/repos/demo-org/checkout-api")).status_code == 200  # kept


async def test_prometheus_and_alertmanager_serve_the_new_world() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    body = {"world": TINY, "now": now.isoformat()}
    async with client(build_prometheus_api(build_demo(NOW), control_token=TOKEN)) as prom:
        assert (await prom.put("/sandbox/world", json=body, headers=AUTH)).status_code == 200
        alerts = (await prom.get("/api/v1/alerts")).json()["data"]["alerts"]
        assert [(a["labels"]["alertname"], a["state"]) for a in alerts] == [
            ("ShopDown", "firing")]
        up = (await prom.get("/api/v1/query", params={"query": "up"})).json()
        assert [r["metric"]["job"] for r in up["data"]["result"]] == ["shop"]
    async with client(build_alertmanager_api(build_demo(NOW), control_token=TOKEN)) as am:
        assert (await am.put("/sandbox/world", json=body, headers=AUTH)).status_code == 200
        firing = (await am.get("/api/v2/alerts")).json()
        assert [a["labels"]["alertname"] for a in firing] == ["ShopDown"]
