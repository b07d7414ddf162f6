"""Issues and pull requests through the real service: a ToolCall on JetStream, the real
PyGithub client against the GitHub stand-in (on-call world: PRs #39/#40 merged with files
and review comments, sev1 issues #43 and payments #10), the ToolResult the model reads."""

from datetime import timedelta
from typing import Any

import pytest
from triage_contracts.messages import ToolStatus
from triage_sandbox.demo_data import Demo

CHECKOUT = "demo-org/checkout-api"


@pytest.fixture
def world_name() -> str:
    return "oncall"


async def test_search_issues_gives_bodies_labels_and_times(tools: Any) -> None:
    result = await tools.call("github.search_issues",
                              {"repo": CHECKOUT, "query": "label:sev1 latency"})
    assert result.status == ToolStatus.SUCCESS, result.error
    [issue] = result.data
    assert issue["number"] == 43 and issue["labels"] == ["sev1", "performance"]
    assert issue["body"].startswith("HighLatencyP99 has been firing since yesterday")
    assert issue["comments"] == 1 and issue["closed_at"] is None
    assert issue["created_at"] < issue["updated_at"]
    assert issue["url"].endswith("/demo-org/checkout-api/issues/43")


async def test_list_issues_by_label_kind_and_update(tools: Any, demo: Demo) -> None:
    sev1 = await tools.call("github.list_issues", {"repo": "demo-org/payments-api",
                                                   "labels": ["sev1"]})
    assert sev1.status == ToolStatus.SUCCESS, sev1.error
    assert [(i["number"], i["title"]) for i in sev1.data] == [
        (10, "Duplicate card charges reported by the provider")]
    merged = await tools.call("github.list_issues", {"repo": CHECKOUT, "state": "closed",
                                                     "kind": "pr"})
    assert [(i["number"], i["is_pull_request"]) for i in merged.data] == [
        (40, True), (39, True)]  # newest update first
    since = (demo.current() - timedelta(hours=2, minutes=30)).isoformat()
    recent = await tools.call("github.list_issues", {"repo": CHECKOUT, "since": since,
                                                     "kind": "issue", "limit": 2})
    assert [i["number"] for i in recent.data] == [44, 42]


async def test_list_issues_with_an_unknown_label_is_no_data(tools: Any) -> None:
    result = await tools.call("github.list_issues", {"repo": CHECKOUT, "labels": ["sev0"]})
    assert result.status == ToolStatus.NO_DATA and result.data == []


async def test_list_issues_of_an_unknown_kind_lists_the_kinds(tools: Any) -> None:
    result = await tools.call("github.list_issues", {"repo": CHECKOUT, "kind": "discussion"})
    assert result.status == ToolStatus.ERROR
    assert "kind: Input should be 'issue', 'pr' or 'all' (got 'discussion')" in result.error


async def test_get_issue_with_its_latest_comments(tools: Any) -> None:
    result = await tools.call("github.get_issue", {"repo": CHECKOUT, "number": 40,
                                                   "comments": 1})
    assert result.status == ToolStatus.SUCCESS, result.error
    issue = result.data
    assert issue["title"] == "Switch payment client to async retries"
    assert issue["is_pull_request"] is True and issue["state"] == "closed"
    assert issue["comments"] == 2 and issue["assignees"] == []
    [latest] = issue["latest_comments"]  # the newer of the two
    assert latest["author"] == "chen-payments"
    assert latest["body"].startswith("The staging load test looked fine")
    assert "#issuecomment-" in latest["url"]
    both = await tools.call("github.get_issue", {"repo": CHECKOUT, "number": 40})
    assert [c["author"] for c in both.data["latest_comments"]] == ["bob-sre", "chen-payments"]


async def test_get_issue_that_does_not_exist_names_it(tools: Any) -> None:
    result = await tools.call("github.get_issue", {"repo": CHECKOUT, "number": 999})
    assert result.status == ToolStatus.ERROR
    assert "GitHub answered 404" in result.error
    assert "issue #999 of demo-org/checkout-api does not exist" in result.error


async def test_get_pull_with_merge_data_and_patches(tools: Any, demo: Demo) -> None:
    result = await tools.call("github.get_pull", {"repo": CHECKOUT, "number": 40})
    assert result.status == ToolStatus.SUCCESS, result.error
    pull = result.data
    assert pull["merged"] is True and pull["merged_by"] == "chen-payments"
    assert pull["merge_commit_sha"] == demo.bad_commit.sha and pull["merged_at"]
    assert pull["base"]["ref"] == "main" and pull["head"]["ref"] == "chen/async-retries"
    assert (pull["additions"], pull["deletions"], pull["changed_files"]) == (14, 15, 2)
    assert pull["labels"] == ["payments"] and pull["url"].endswith("/pull/40")
    assert [f["filename"] for f in pull["files"]] == ["src/payments/client.py",
                                                      "src/payments/retry.py"]
    client = pull["files"][0]
    assert (client["status"], client["additions"], client["deletions"]) == ("modified", 11, 9)
    assert client["patch"].startswith("@@")
    few = await tools.call("github.get_pull", {"repo": CHECKOUT, "number": 40, "files": 1})
    assert len(few.data["files"]) == 1 and few.data["changed_files"] == 2


async def test_get_pull_of_an_issue_is_an_error_the_model_can_fix(tools: Any) -> None:
    result = await tools.call("github.get_pull", {"repo": CHECKOUT, "number": 43})
    assert result.status == ToolStatus.ERROR
    assert "pull request #43 of demo-org/checkout-api does not exist" in result.error
