"""The GitHub stand-in speaks GitHub's REST v3 shapes and tells the demo story.

Pure endpoint tests over httpx's ASGI transport; the tools service's tests drive the same
app with the real PyGithub client over real HTTP."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from triage_sandbox.demo_data import BAD_COMMIT_MESSAGE, INCIDENT_ISSUE, build_demo
from triage_sandbox.github_api import build_github_api
from triage_sandbox.world.model import Person

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
BASE = "http://github.sandbox"
CHECKOUT = "/repos/demo-org/checkout-api"


@pytest.fixture
async def gh() -> AsyncIterator[httpx.AsyncClient]:
    app = build_github_api(demo=build_demo(NOW))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


async def test_repo_has_absolute_urls_under_the_callers_base(gh: httpx.AsyncClient) -> None:
    repo = (await gh.get(CHECKOUT)).json()
    assert repo["full_name"] == "demo-org/checkout-api"
    assert repo["url"] == f"{BASE}{CHECKOUT}"  # PyGithub follows these, so they must be ours
    assert repo["owner"]["login"] == "demo-org" and repo["default_branch"] == "main"
    missing = await gh.get("/repos/demo-org/nope")
    assert missing.status_code == 404 and missing.json()["message"] == "Not Found"


async def test_commits_tell_the_story_newest_first_and_recent(gh: httpx.AsyncClient) -> None:
    commits = (await gh.get(f"{CHECKOUT}/commits")).json()
    assert len(commits) == 6
    assert commits[0]["commit"]["message"].startswith(BAD_COMMIT_MESSAGE)
    dates = [datetime.fromisoformat(c["commit"]["author"]["date"]) for c in commits]
    assert dates == sorted(dates, reverse=True)
    assert all(NOW - timedelta(days=2) <= d <= NOW for d in dates)
    assert commits[0]["author"]["login"] and commits[0]["html_url"].endswith(commits[0]["sha"])


async def test_pagination_follows_github_link_headers(gh: httpx.AsyncClient) -> None:
    first = await gh.get(f"{CHECKOUT}/commits", params={"per_page": 4})
    assert len(first.json()) == 4
    links = first.headers["link"]
    assert 'rel="next"' in links and 'rel="last"' in links and "page=2" in links
    next_url = links.split(";")[0].strip("<>")
    second = await gh.get(next_url)
    assert len(second.json()) == 2 and 'rel="prev"' in second.headers["link"]
    shas = [c["sha"] for c in first.json() + second.json()]
    assert len(set(shas)) == 6


async def test_ci_fails_from_the_bad_commit_on(gh: httpx.AsyncClient) -> None:
    bad_sha = (await gh.get(f"{CHECKOUT}/commits")).json()[0]["sha"]
    body = (await gh.get(f"{CHECKOUT}/actions/runs")).json()
    runs = body["workflow_runs"]
    assert body["total_count"] == len(runs) == 7  # six pushes and one re-run
    latest = runs[0]
    assert latest["name"] == "CI" and latest["conclusion"] == "failure"
    assert latest["head_sha"] == bad_sha and latest["status"] == "completed"
    older = [r for r in runs if r["head_sha"] != bad_sha]
    assert older and all(r["conclusion"] == "success" for r in older)
    payments = (await gh.get("/repos/demo-org/payments-api/actions/runs")).json()
    assert {r["conclusion"] for r in payments["workflow_runs"]} == {"success"}


@pytest.mark.parametrize(("query", "numbers"), [
    ("repo:demo-org/checkout-api is:open", [INCIDENT_ISSUE, 41]),
    ("repo:demo-org/checkout-api is:open is:issue", [INCIDENT_ISSUE]),
    ("repo:demo-org/checkout-api is:pr", [41]),
    ("repo:demo-org/checkout-api is:closed", [38]),
    ("repo:demo-org/checkout-api 502 card", [INCIDENT_ISSUE]),
    ("repo:demo-org/payments-api 502", []),
    ("label:flaky-test", [38]),
])
async def test_search_supports_qualifiers_and_free_text(
    gh: httpx.AsyncClient, query: str, numbers: list[int]
) -> None:
    body = (await gh.get("/search/issues", params={"q": query})).json()
    assert body["incomplete_results"] is False
    assert sorted(i["number"] for i in body["items"]) == sorted(numbers)
    assert body["total_count"] == len(numbers)


async def test_search_results_mark_pull_requests(gh: httpx.AsyncClient) -> None:
    items = (await gh.get("/search/issues", params={"q": "repo:demo-org/checkout-api"})).json()
    by_number = {i["number"]: i for i in items["items"]}
    assert "pull_request" in by_number[41] and "/pull/41" in by_number[41]["html_url"]
    incident = by_number[INCIDENT_ISSUE]
    assert "pull_request" not in incident
    assert incident["title"] == "Checkout returns 502 for some card payments"
    assert "incident" in [label["name"] for label in incident["labels"]]
    missing_q = await gh.get("/search/issues")
    assert missing_q.status_code == 422


async def test_comments_are_listed_posted_and_recorded(gh: httpx.AsyncClient) -> None:
    url = f"{CHECKOUT}/issues/{INCIDENT_ISSUE}/comments"
    assert len((await gh.get(url)).json()) == 1  # the seeded human comment
    posted = await gh.post(url, json={"body": "Likely cause: the async retries commit."})
    assert posted.status_code == 201
    comment = posted.json()
    assert comment["user"]["login"] == "triage-bot" and comment["id"] > 0
    assert comment["html_url"].endswith(f"#issuecomment-{comment['id']}")
    assert [c["id"] for c in (await gh.get(url)).json()][-1] == comment["id"]
    recorded = (await gh.get("/sandbox/comments")).json()
    assert [(c["repo"], c["issue_number"], c["id"]) for c in recorded] == [
        ("demo-org/checkout-api", INCIDENT_ISSUE, comment["id"])]
    issue = (await gh.get(f"{CHECKOUT}/issues/{INCIDENT_ISSUE}")).json()
    assert issue["comments"] == 2
    assert (await gh.post(url, json={"body": " "})).status_code == 422
    assert (await gh.post(f"{CHECKOUT}/issues/999/comments", json={"body": "x"})).status_code \
        == 404


async def test_calls_are_recorded_and_faults_injected(gh: httpx.AsyncClient) -> None:
    await gh.post("/sandbox/faults", json={"status": 502, "count": 1, "path": "/repos"})
    assert (await gh.get(CHECKOUT)).status_code == 502
    assert (await gh.get(CHECKOUT)).status_code == 200  # the fault was used up
    calls = (await gh.get("/sandbox/calls")).json()
    assert [c["path"] for c in calls] == [CHECKOUT, CHECKOUT]


async def test_an_outage_lasts_until_its_faults_are_cleared(gh: httpx.AsyncClient) -> None:
    await gh.post("/sandbox/faults", json={"status": 502, "count": 1000, "path": "/repos"})
    assert [(await gh.get(CHECKOUT)).status_code for _ in range(3)] == [502, 502, 502]
    assert (await gh.delete("/sandbox/faults")).json() == {"faults": 0}
    assert (await gh.get(CHECKOUT)).status_code == 200


async def test_a_configured_token_is_required() -> None:
    app = build_github_api(token="ghp_sandboxsandboxsandbox1234")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as gh:
        denied = await gh.get(CHECKOUT, headers={"Authorization": "token wrong"})
        assert denied.status_code == 401 and denied.json()["message"] == "Bad credentials"
        assert (await gh.get(CHECKOUT)).status_code == 401
        for scheme in ("token", "Bearer"):
            ok = await gh.get(CHECKOUT, headers={
                "Authorization": f"{scheme} ghp_sandboxsandboxsandbox1234"})
            assert ok.status_code == 200


async def test_each_token_is_a_person_who_authors_its_comments() -> None:
    other = Person("mallory", "Mallory Outsider", 3001, member=False)
    app = build_github_api(token="ghp_bot", others={"ghp_mallory": other})
    comments = f"{CHECKOUT}/issues/42/comments"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as gh:
        assert (await gh.get("/user")).status_code == 401
        me = await gh.get("/user", headers={"Authorization": "token ghp_bot"})
        assert me.json()["login"] == "triage-bot"
        for token, login in (("ghp_bot", "triage-bot"), ("ghp_mallory", "mallory")):
            posted = await gh.post(comments, json={"body": "hi"},
                                   headers={"Authorization": f"Bearer {token}"})
            assert posted.status_code == 201 and posted.json()["user"]["login"] == login
        listed = (await gh.get(comments, headers={"Authorization": "token ghp_bot"})).json()
        assert [c["user"]["login"] for c in listed][-2:] == ["triage-bot", "mallory"]
