"""The GitHub stand-in enforces GitHub's limits: a primary quota per credential with its
headers, a secondary limit with Retry-After, and free 304s for conditional requests."""

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from triage_sandbox.demo_data import build_demo
from triage_sandbox.github_api import build_github_api
from triage_sandbox.world.model import Person

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
BASE = "http://github.sandbox"
COMMITS = "/repos/demo-org/checkout-api/commits"
TOKEN, OTHER = "ghp_limits_bot", "ghp_limits_other"


@pytest.fixture
async def gh() -> AsyncIterator[httpx.AsyncClient]:
    app = build_github_api(token=TOKEN, demo=build_demo(NOW), rate_limit=3,
                           others={OTHER: Person("someone", "Some One", 7)})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE,
                                 headers={"Authorization": f"token {TOKEN}"}) as c:
        yield c


async def test_the_quota_counts_down_per_token_and_refuses_when_spent(
        gh: httpx.AsyncClient) -> None:
    answers = [await gh.get(COMMITS) for _ in range(3)]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0"]
    assert int(answers[0].headers["x-ratelimit-reset"]) > NOW.timestamp()
    refused = await gh.get(COMMITS)
    assert refused.status_code == 403 and "rate limit exceeded" in refused.json()["message"]
    assert refused.headers["x-ratelimit-remaining"] == "0"
    other = await gh.get(COMMITS, headers={"Authorization": f"token {OTHER}"})
    assert other.status_code == 200 and other.headers["x-ratelimit-remaining"] == "2"
    usage = (await gh.get("/sandbox/usage")).json()
    assert sorted(u["used"] for u in usage.values()) == [1, 3]
    assert not any(TOKEN in who or OTHER in who for who in usage)  # digests, not tokens


async def test_a_matching_etag_answers_304_free_and_a_changed_world_a_new_etag(
        gh: httpx.AsyncClient) -> None:
    first = await gh.get(COMMITS)
    etag = first.headers["etag"]
    again = await gh.get(COMMITS, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["x-ratelimit-remaining"] == "2"  # the 304 was not counted
    other_page = await gh.get(COMMITS, params={"per_page": 2}, headers={"If-None-Match": etag})
    assert other_page.status_code == 200 and other_page.headers["etag"] != etag
    rate = (await gh.get("/rate_limit")).json()
    assert rate["resources"]["core"]["used"] == 2  # /rate_limit itself is free too


async def test_the_secondary_limit_answers_429_with_retry_after(gh: httpx.AsyncClient) -> None:
    await gh.put("/sandbox/limits", json={"limit": 100, "secondary_per_minute": 2})
    assert [(await gh.get(COMMITS)).status_code for _ in range(2)] == [200, 200]
    refused = await gh.get(COMMITS)
    assert refused.status_code == 429 and "secondary rate limit" in refused.json()["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 61


async def test_a_quota_spent_until_a_time_refuses_until_then_and_is_full_after(
        gh: httpx.AsyncClient) -> None:
    """What the fault suite sets: nothing left, the window ending when the fault does."""
    spent_until = int(time.time()) + 2
    await gh.put("/sandbox/limits", json={"limit": 100, "spent_until": spent_until})
    refused = await gh.get(COMMITS)
    assert refused.status_code == 403 and "rate limit exceeded" in refused.json()["message"]
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.headers["x-ratelimit-reset"] == str(spent_until)
    # The window ends by the clock, not by a later request or a reset of the limits.
    await asyncio.sleep(spent_until + 0.2 - time.time())
    again = await gh.get(COMMITS)
    assert again.status_code == 200 and again.headers["x-ratelimit-remaining"] == "99"
