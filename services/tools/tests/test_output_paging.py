"""Outputs too large for a prompt, through the real NATS path: the call answers the first
page with a handle, `output.page` calls read on until the whole output was seen, the
object store holds it whole, another run's handle is refused, and a redelivered call gives
the same handle and the same page (the first stored output wins)."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from triage_contracts.bus import jetstream
from triage_contracts.messages import ToolStatus
from triage_contracts.streams import ObjectStores
from triage_sandbox.demo_data import Demo
from triage_tools.outputs import StoredOutput
from triage_tools.pages import size
from triage_tools.settings import Settings

from .conftest import Harness

CHECKOUT = "demo-org/checkout-api"
BUDGET = 1_000
COMMENTS = "/repos/demo-org/checkout-api/issues/42/comments"


@pytest.fixture
async def small(start_tools: Any, settings: Settings) -> AsyncIterator[Harness]:
    """The service with a 1,000-character output budget."""
    async with start_tools(settings.model_copy(update={"tool_output_chars": BUDGET})) as h:
        yield h


async def stored(tools: Harness, handle: str) -> StoredOutput:
    store = await jetstream(tools.broker).object_store(ObjectStores.OUTPUTS.name)
    return StoredOutput.model_validate_json((await store.get(handle)).data)


async def test_a_long_log_is_cut_to_its_end_and_paged_backwards(small: Harness,
                                                                demo: Demo) -> None:
    job = demo.repos["checkout-api"].runs[0].jobs[1]
    first = await small.call("github.job_log", {"repo": CHECKOUT, "job_id": job.job_id})
    assert first.status == ToolStatus.SUCCESS, first.error
    page = first.page
    assert page is not None and page.unit == "chars" and page.next_page == 2
    assert size(first.data) <= BUDGET and page.returned < page.total
    assert first.data["log"].endswith("Cleaning up orphan processes")  # the end first
    assert first.data["job_id"] == job.job_id  # the frame comes with every page

    whole = await stored(small, page.handle)
    assert (whole.run_id, whole.tool, whole.keep_tail) == (first.run_id, "github.job_log",
                                                           True)
    assert len(whole.data["log"]) == page.total
    texts, number = [first.data["log"]], page.next_page
    while number is not None:
        more = await small.call("output.page", {"handle": page.handle, "page": number},
                                run_id=first.run_id, step_id=f"page-{number}")
        assert more.status == ToolStatus.SUCCESS, more.error
        assert more.page is not None and more.page.handle == page.handle
        assert size(more.data) <= BUDGET
        texts.append(more.data["log"])
        number = more.page.next_page
    assert "".join(reversed(texts)) == whole.data["log"]
    assert len(texts) > 2


async def test_a_long_list_is_cut_by_items_and_paged_on(small: Harness) -> None:
    first = await small.call("github.list_issues", {"repo": CHECKOUT, "state": "all"})
    assert first.status == ToolStatus.SUCCESS and first.page is not None
    assert (first.page.unit, first.page.total) == ("items", 3)
    assert first.page.returned == len(first.data) < 3 and first.page.next_page == 2
    seen, number = list(first.data), first.page.next_page
    while number is not None:
        more = await small.call("output.page", {"handle": first.page.handle, "page": number},
                                run_id=first.run_id, step_id=f"page-{number}")
        assert more.page is not None and more.page.returned == len(more.data)
        seen, number = seen + more.data, more.page.next_page
    assert sorted(i["number"] for i in seen) == [38, 41, 42]
    events = await small.audit(first.run_id, 2)
    cut = [e for e in events if e.action == "github.list_issues"]
    assert cut[0].detail["page"]["handle"] == first.page.handle


async def test_a_handle_of_another_run_or_team_is_refused(small: Harness, demo: Demo) -> None:
    job = demo.repos["checkout-api"].runs[0].jobs[1]
    first = await small.call("github.job_log", {"repo": CHECKOUT, "job_id": job.job_id})
    assert first.page is not None
    other_run = await small.call("output.page", {"handle": first.page.handle})
    assert other_run.status == ToolStatus.ERROR and other_run.data is None
    assert other_run.error == (f"{first.page.handle} belongs to another run: only outputs "
                               "cut in this run can be paged")
    other_team = small.tool_call("output.page", {"handle": first.page.handle},
                                 run_id=first.run_id).model_copy(update={"team_id": "T2"})
    refused = await small.app.state.service.handle(other_team)
    assert refused.status == ToolStatus.ERROR and "belongs to another run" in refused.error
    unknown = await small.call("output.page", {"handle": "out-" + "0" * 40},
                               run_id=first.run_id, step_id="s3")
    assert unknown.status == ToolStatus.ERROR and "no output is stored under" in unknown.error
    beyond = await small.call("output.page", {"handle": first.page.handle, "page": 99},
                              run_id=first.run_id, step_id="s4")
    assert beyond.status == ToolStatus.ERROR and "page 99 does not exist" in beyond.error


async def test_a_redelivered_call_gives_the_same_handle_and_page(small: Harness,
                                                                 github: Any) -> None:
    call = small.tool_call("github.list_issues", {"repo": CHECKOUT, "state": "all"})
    await small.send(call)
    first = await small.result(call)
    assert first.page is not None
    before = await stored(small, first.page.handle)
    github.post(COMMENTS, {"body": "Seen again after the rollback."})  # the data changes
    await small.send(call, msg_id="delivered-again")  # e.g. after a worker crashed
    await small.acked(2)
    assert await stored(small, first.page.handle) == before  # the first output wins
    again = await small.app.state.service.handle(call)  # what that delivery answered
    assert again.page == first.page and again.data == first.data
    fresh = await small.call("github.list_issues", {"repo": CHECKOUT, "state": "all"},
                             run_id=call.run_id, step_id="s2")
    assert fresh.page is not None and fresh.page.handle != first.page.handle
    counts = {i["number"]: i["comments"] for i in (await stored(small, fresh.page.handle)).data}
    old = {i["number"]: i["comments"] for i in (await stored(small, first.page.handle)).data}
    assert counts[42] == old[42] + 1


async def test_an_output_that_fits_is_not_stored(small: Harness) -> None:
    result = await small.call("github.workflow_runs", {"repo": CHECKOUT, "limit": 1})
    assert result.status == ToolStatus.SUCCESS and result.page is None
    store = await jetstream(small.broker).object_store(ObjectStores.OUTPUTS.name)
    assert (await store.status()).size == 0


async def test_the_stored_output_is_redacted_too(small: Harness, github: Any) -> None:
    token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
    for n in range(6):
        github.post(COMMENTS, {"body": f"Attempt {n}: exported GITHUB_TOKEN={token}"})
    result = await small.call("github.get_issue", {"repo": CHECKOUT, "number": 42})
    assert result.status == ToolStatus.SUCCESS and result.page is not None, result.error
    whole = await stored(small, result.page.handle)
    assert len(whole.data["latest_comments"]) == 7
    assert token not in whole.model_dump_json() and token not in result.model_dump_json()
    assert "[REDACTED" in whole.model_dump_json()
