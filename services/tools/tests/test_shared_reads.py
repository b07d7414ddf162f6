"""Reads shared within GitHub's real quota: identical reads of one team and credential go
upstream once, a revalidated read costs no quota (the stand-in answers 304 and does not
count it), writes are never shared, and a spent quota is answered with when it resets.

The real PyGithub client against the GitHub stand-in over real HTTP; what went upstream
is counted by the stand-in itself (`/sandbox/calls`: every request, `/sandbox/usage`:
those GitHub counts against the quota)."""

import asyncio
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from triage_contracts.errors import TemporaryError
from triage_contracts.messages import ToolStatus
from triage_tools.catalog import build_registry
from triage_tools.errors import ToolError
from triage_tools.registry import CallContext, ToolRegistry
from triage_tools.settings import Settings

from .conftest import GITHUB_TOKEN, OTHER_TOKEN, REPOS, StandIn

CHECKOUT = "demo-org/checkout-api"
COMMITS = {"repo": CHECKOUT, "limit": 5}


def registry(github: StandIn, token: str = GITHUB_TOKEN, ttl_s: float = 0.0) -> ToolRegistry:
    return build_registry(Settings(github_api_url=github.url, github_token=SecretStr(token),
                                   github_repos=REPOS, tool_timeout_s=5.0,
                                   shared_read_ttl_s=ttl_s))


async def read(registry: ToolRegistry, tool: str, arguments: dict[str, Any],
               team: str = "T1", step: str = "s1") -> Any:
    found = registry.get(tool)
    status, data = await registry.invoke(found, registry.parse(found, arguments),
                                         CallContext(team, "r1", step))
    assert status is ToolStatus.SUCCESS
    return data


def upstream(github: StandIn, path: str = "/commits") -> int:
    return sum(path in c["path"] for c in github.get("/sandbox/calls"))


def set_limits(github: StandIn, **limits: int) -> None:
    httpx.put(f"{github.url}/sandbox/limits", json=limits, timeout=5).raise_for_status()


def counted(github: StandIn) -> list[int]:
    """Requests counted against the quota, per credential."""
    return sorted(u["used"] for u in github.get("/sandbox/usage").values())


async def test_fifty_identical_reads_at_once_make_one_request(github: StandIn) -> None:
    tools = registry(github)
    answers = await asyncio.gather(*(read(tools, "github.recent_commits", COMMITS, step=f"s{n}")
                                     for n in range(50)))
    assert upstream(github) == 1 and counted(github) == [1]
    assert all(a == answers[0] for a in answers) and len(answers[0]) == 5


async def test_reads_are_never_shared_across_teams_or_tokens(github: StandIn) -> None:
    bot, other = registry(github), registry(github, token=OTHER_TOKEN)
    await asyncio.gather(read(bot, "github.recent_commits", COMMITS, team="T1"),
                         read(bot, "github.recent_commits", COMMITS, team="T2"),
                         read(other, "github.recent_commits", COMMITS, team="T1"))
    assert upstream(github) == 3 and counted(github) == [1, 2]  # bot: T1, T2; other: T1
    # What T1 and T2 kept is not even offered as a validator for T3: a full, counted
    # answer...
    await read(bot, "github.recent_commits", COMMITS, team="T3")
    assert upstream(github) == 4 and counted(github) == [1, 3]
    # ...while T3's own next read revalidates its own copy: a free 304.
    await read(bot, "github.recent_commits", COMMITS, team="T3")
    assert upstream(github) == 5 and counted(github) == [1, 3]


async def test_a_revalidated_read_is_a_free_304_and_a_change_comes_through(
        github: StandIn) -> None:
    tools = registry(github)
    first = await read(tools, "github.get_issue", {"repo": CHECKOUT, "number": 42})
    spent, asked = sum(counted(github)), upstream(github, "/issues/42")
    again = await read(tools, "github.get_issue", {"repo": CHECKOUT, "number": 42})
    assert upstream(github, "/issues/42") == 2 * asked  # every request was made again...
    assert again == first and sum(counted(github)) == spent  # ...and answered a free 304
    github.post(f"/repos/{CHECKOUT}/issues/42/comments", {"body": "Rolled back at 11:40."},
                token=OTHER_TOKEN)
    changed = await read(tools, "github.get_issue", {"repo": CHECKOUT, "number": 42})
    assert changed["comments"] == first["comments"] + 1


async def test_a_short_cache_answers_without_asking_while_fresh(github: StandIn) -> None:
    tools = registry(github, ttl_s=30.0)
    await read(tools, "github.recent_commits", COMMITS, step="s1")
    await read(tools, "github.recent_commits", COMMITS, step="s2")
    assert upstream(github) == 1


async def test_writes_are_never_shared(github: StandIn) -> None:
    tools = registry(github, ttl_s=30.0)
    tool = tools.get("github.comment_issue")
    args = tools.parse(tool, {"repo": CHECKOUT, "issue_number": 42,
                                       "body": "Same words, two approved steps."})
    await asyncio.gather(*(tools.invoke(tool, args, CallContext("T1", "r1", f"s{n}"))
                           for n in range(2)))
    posts = [c for c in github.get("/sandbox/calls") if c["method"] == "POST"]
    assert len(posts) == 2


async def test_a_spent_quota_is_answered_with_when_it_resets(github: StandIn) -> None:
    set_limits(github, limit=1)
    tools = registry(github)
    await read(tools, "github.recent_commits", COMMITS)
    with pytest.raises(ToolError, match=r"GitHub quota \(core\) exhausted until \d\d:\d\d UTC"):
        await read(tools, "github.get_issue", {"repo": CHECKOUT, "number": 42})
    asked = len(github.get("/sandbox/calls"))
    with pytest.raises(ToolError, match="exhausted until"):
        await read(tools, "github.workflow_runs", {"repo": CHECKOUT})
    assert len(github.get("/sandbox/calls")) == asked  # known spent: not even asked


async def test_a_secondary_limit_is_a_temporary_error_with_its_delay(github: StandIn) -> None:
    set_limits(github, limit=100, secondary_per_minute=1)
    tools = registry(github)
    await read(tools, "github.recent_commits", COMMITS)
    with pytest.raises(TemporaryError, match="secondary rate limit") as caught:
        await read(tools, "github.workflow_runs", {"repo": CHECKOUT})
    assert caught.value.delay is not None and 0 < caught.value.delay <= 61
    assert upstream(github, "/actions/runs") == 1  # the registry's retries were not sent


async def test_the_model_reads_the_quota_message_in_the_result(github: StandIn,
                                                               tools: Any) -> None:
    set_limits(github, limit=0)
    result = await tools.call("github.recent_commits", COMMITS)
    assert result.status == ToolStatus.ERROR
    assert "GitHub quota (core) exhausted until" in result.error
    assert "answer with what you have" in result.error


async def test_replicas_share_that_the_token_is_spent(github: StandIn, settings: Settings,
                                                      start_tools: Any) -> None:
    """Two tools processes on one token: what one learns from GitHub's 403, the other
    knows from the KV bucket, and does not ask GitHub to learn it again."""
    set_limits(github, limit=1)
    async with start_tools(settings) as first, start_tools(settings) as second:
        await read(first.app.state.registry, "github.recent_commits", COMMITS)
        with pytest.raises(ToolError, match="exhausted until"):
            await read(first.app.state.registry, "github.get_issue",
                       {"repo": CHECKOUT, "number": 42})
        asked = len(github.get("/sandbox/calls"))
        await until_blocked(second.app.state.quota)
        with pytest.raises(ToolError, match=r"GitHub quota \(core\) exhausted until"):
            await read(second.app.state.registry, "github.workflow_runs", {"repo": CHECKOUT})
        assert len(github.get("/sandbox/calls")) == asked


async def until_blocked(share: Any, within: float = 10.0) -> None:
    """Wait until the replica's book has the other's news (read from the KV bucket)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        await share.refresh()
        try:
            share.book.check(share.credential, "core")
        except ToolError:
            return
        assert asyncio.get_running_loop().time() < deadline, "the news never arrived"
        await asyncio.sleep(0.1)
