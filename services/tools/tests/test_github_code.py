"""Code search through the real service (demo world): paths, web URLs and the fragments
GitHub highlights; a query that tries to leave the repository is refused before GitHub."""

from typing import Any

from triage_contracts.messages import ToolStatus
from triage_sandbox.demo_data import Demo

from .conftest import StandIn

CHECKOUT = "demo-org/checkout-api"


async def test_search_code_gives_paths_urls_and_fragments(tools: Any, demo: Demo) -> None:
    result = await tools.call("github.search_code",
                              {"repo": CHECKOUT, "query": '"budget exhausted"'})
    assert result.status == ToolStatus.SUCCESS, result.error
    [hit] = result.data
    assert hit["path"] == "src/payments/client.py"
    assert hit["url"].endswith(f"/blob/{demo.bad_commit.sha}/src/payments/client.py")
    assert hit["fragments"] and all("retry budget" in f for f in hit["fragments"])
    scoped = await tools.call("github.search_code",
                              {"repo": CHECKOUT, "query": "HighLatencyP99 path:deploy"})
    assert [h["path"] for h in scoped.data] == ["deploy/alerts/checkout.rules.yml"]


async def test_search_code_stays_in_the_repository(tools: Any, github: StandIn) -> None:
    elsewhere = await tools.call("github.search_code",
                                 {"repo": "demo-org/payments-api", "query": "retry budget"})
    assert elsewhere.status == ToolStatus.NO_DATA and elsewhere.data == []
    widened = await tools.call("github.search_code",
                               {"repo": CHECKOUT, "query": "password org:demo-org"})
    assert widened.status == ToolStatus.ERROR
    assert "the qualifier 'org:' is not allowed in query; use the `repo` argument" in \
        widened.error
    assert not [c for c in github.get("/sandbox/calls") if "password" in c["query"]]
