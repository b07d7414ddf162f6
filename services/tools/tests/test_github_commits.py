"""History through the real service (on-call world): commits by time, path and branch, the
pull request behind a commit, and what changed between two references."""

from datetime import timedelta
from typing import Any

import pytest
from triage_contracts.messages import ToolStatus
from triage_sandbox.demo_data import Demo

CHECKOUT = "demo-org/checkout-api"


@pytest.fixture
def world_name() -> str:
    return "oncall"


async def test_recent_commits_by_path_time_and_branch(tools: Any, demo: Demo) -> None:
    totals = await tools.call("github.recent_commits", {"repo": CHECKOUT,
                                                        "path": "src/cart/totals.py"})
    assert totals.status == ToolStatus.SUCCESS, totals.error
    assert [c["message"].splitlines()[0] for c in totals.data] == [
        "Fix rounding of discounts in cart totals", "Cache cart totals for 30 seconds"]
    head = demo.bad_commit
    window = await tools.call("github.recent_commits", {
        "repo": CHECKOUT, "since": (head.date - timedelta(hours=1)).isoformat(),
        "until": (head.date + timedelta(minutes=1)).isoformat()})
    assert [c["sha"] for c in window.data] == [head.sha]
    assert window.data[0]["date"] == head.date.isoformat()
    branch = await tools.call("github.recent_commits", {"repo": CHECKOUT, "limit": 2,
                                                        "branch": "chen/async-retries"})
    pull = demo.repos["checkout-api"].pulls[40]
    assert branch.data[0]["sha"] == pull.head_sha
    assert branch.data[0]["url"].endswith(f"/commit/{pull.head_sha}")


async def test_recent_commits_of_an_unknown_branch_is_an_error(tools: Any) -> None:
    result = await tools.call("github.recent_commits", {"repo": CHECKOUT,
                                                        "branch": "no-such-branch"})
    assert result.status == ToolStatus.ERROR
    assert "GitHub answered 422" in result.error
    assert "No commit found for SHA: no-such-branch" in result.error


async def test_commit_pulls_finds_the_pull_request_behind_a_commit(tools: Any,
                                                                   demo: Demo) -> None:
    result = await tools.call("github.commit_pulls", {"repo": CHECKOUT,
                                                      "sha": demo.bad_commit.sha[:7]})
    assert result.status == ToolStatus.SUCCESS, result.error
    [pull] = result.data
    assert pull["number"] == 40 and pull["title"] == "Switch payment client to async retries"
    assert pull["merged_at"] and pull["merge_commit_sha"] == demo.bad_commit.sha
    assert pull["author"] == "chen-payments" and pull["url"].endswith("/pull/40")
    assert pull["base"]["ref"] == "main"


async def test_commit_pulls_of_an_unknown_sha_is_an_error(tools: Any) -> None:
    result = await tools.call("github.commit_pulls", {"repo": CHECKOUT, "sha": "deadbee"})
    assert result.status == ToolStatus.ERROR
    assert "No commit found for SHA: deadbee" in result.error


async def test_compare_lists_commits_and_files_between_refs(tools: Any, demo: Demo) -> None:
    commits = demo.repos["checkout-api"].commits
    result = await tools.call("github.compare", {"repo": CHECKOUT, "base": commits[3].sha,
                                                 "head": "main"})
    assert result.status == ToolStatus.SUCCESS, result.error
    diff = result.data
    assert (diff["status"], diff["ahead_by"], diff["behind_by"]) == ("ahead", 3, 0)
    assert [c["sha"] for c in diff["commits"]] == [c.sha for c in reversed(commits[:3])]
    assert {f["filename"] for f in diff["files"]} == {
        "src/payments/client.py", "src/payments/retry.py", "src/cart/totals.py",
        "deploy/alerts/checkout.rules.yml"}
    assert diff["files_changed"] == 4 and all(f["patch"] for f in diff["files"])
    assert "/compare/" in diff["url"]
    limited = await tools.call("github.compare", {"repo": CHECKOUT, "base": commits[3].sha,
                                                  "head": "main", "limit": 1})
    assert len(limited.data["commits"]) == 1 and len(limited.data["files"]) == 1
    assert limited.data["total_commits"] == 3


async def test_compare_with_an_unknown_ref_names_the_refs(tools: Any) -> None:
    result = await tools.call("github.compare", {"repo": CHECKOUT, "base": "v9.9.9",
                                                 "head": "main"})
    assert result.status == ToolStatus.ERROR
    assert "GitHub answered 404" in result.error
    assert "one of the refs 'v9.9.9', 'main' in demo-org/checkout-api" in result.error
