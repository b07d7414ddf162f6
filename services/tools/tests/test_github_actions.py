"""CI through the real service (demo world): runs with filters, a run's jobs and steps, and
the tail of a failed job's log, fetched as GitHub requires (the API's 302, then the
pre-signed download) without ever sending the token to another host."""

from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from triage_contracts.messages import ToolStatus
from triage_sandbox.demo_data import Demo
from triage_tools.catalog import build_registry
from triage_tools.errors import ToolError
from triage_tools.registry import CallContext
from triage_tools.settings import Settings

from .conftest import GITHUB_TOKEN, REPOS, StandIn, serve

CHECKOUT = "demo-org/checkout-api"
CTX = CallContext("T1", "r-actions", "s1")


def failed_run(demo: Demo) -> Any:
    return demo.repos["checkout-api"].runs[0]


async def test_workflow_runs_filtered_by_branch_and_status(tools: Any, demo: Demo) -> None:
    green = await tools.call("github.workflow_runs", {"repo": CHECKOUT, "status": "success",
                                                      "branch": "main", "limit": 10})
    assert green.status == ToolStatus.SUCCESS, green.error
    assert [r["run_number"] for r in green.data] == [5, 4, 3, 2, 1]
    assert {(r["conclusion"], r["branch"], r["name"]) for r in green.data} == {
        ("success", "main", "CI")}
    latest = (await tools.call("github.workflow_runs", {"repo": CHECKOUT, "limit": 1})).data
    assert latest[0]["id"] == failed_run(demo).run_id
    assert latest[0]["url"].endswith(f"/actions/runs/{failed_run(demo).run_id}")
    other = await tools.call("github.workflow_runs", {"repo": CHECKOUT, "branch": "release"})
    assert other.status == ToolStatus.NO_DATA and other.data == []


async def test_workflow_runs_with_an_unknown_status_lists_the_statuses(tools: Any) -> None:
    result = await tools.call("github.workflow_runs", {"repo": CHECKOUT, "status": "failed"})
    assert result.status == ToolStatus.ERROR
    assert "status: Input should be 'completed', 'failure', 'success', 'in_progress' or " \
        "'queued' (got 'failed')" in result.error


async def test_workflow_jobs_show_the_failed_step(tools: Any, demo: Demo) -> None:
    run = failed_run(demo)
    result = await tools.call("github.workflow_jobs", {"repo": CHECKOUT, "run_id": run.run_id})
    assert result.status == ToolStatus.SUCCESS, result.error
    jobs = {j["name"]: j for j in result.data["jobs"]}
    assert result.data["run_id"] == run.run_id
    assert {n: j["conclusion"] for n, j in jobs.items()} == {"lint": "success",
                                                            "test": "failure"}
    test = jobs["test"]
    assert test["id"] == run.jobs[1].job_id and test["url"].endswith(f"/job/{test['id']}")
    failed = [s for s in test["steps"] if s["conclusion"] == "failure"]
    assert [(s["number"], s["name"]) for s in failed] == [(5, "Run pytest")]
    assert failed[0]["started_at"] < failed[0]["completed_at"]


async def test_workflow_jobs_of_a_run_number_says_to_use_the_id(tools: Any) -> None:
    result = await tools.call("github.workflow_jobs", {"repo": CHECKOUT, "run_id": 6})
    assert result.status == ToolStatus.ERROR
    assert "run 6 of demo-org/checkout-api (use a run's `id`, not its run_number)" in \
        result.error


async def test_job_log_returns_the_tail_without_timestamps(tools: Any, demo: Demo,
                                                           github: StandIn) -> None:
    job = failed_run(demo).jobs[1]
    result = await tools.call("github.job_log", {"repo": CHECKOUT, "job_id": job.job_id,
                                                 "tail_lines": 12})
    assert result.status == ToolStatus.SUCCESS, result.error
    log = result.data
    assert (log["job_id"], log["returned_lines"]) == (job.job_id, 12)
    assert log["total_lines"] == len(job.log.splitlines())
    lines = log["log"].splitlines()
    assert lines[-1] == "Cleaning up orphan processes"
    assert "##[error]Process completed with exit code 1." in lines
    assert "2 failed, 212 passed in 41.27s" in lines
    assert not any(line[:4].isdigit() for line in lines)  # no `2025-...Z ` prefixes
    paths = [c["path"] for c in github.get("/sandbox/calls")]
    assert f"/repos/{CHECKOUT}/actions/jobs/{job.job_id}/logs" in paths
    assert any(p.startswith("/_blobs/") for p in paths)  # the 302 was followed


async def test_job_log_of_an_unknown_job_is_an_error(tools: Any) -> None:
    result = await tools.call("github.job_log", {"repo": CHECKOUT, "job_id": 123})
    assert result.status == ToolStatus.ERROR
    assert "job 123 of demo-org/checkout-api does not exist" in result.error


class Recorded:
    """An ASGI app that notes every request's headers (the blob storage host's view)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.headers = app, list[dict[str, str]]()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await self.app(scope, receive, send)


class LogsElsewhere:
    """The GitHub stand-in whose log downloads live on another host, as github.com's do."""

    def __init__(self, app: ASGIApp, blob_base: str) -> None:
        self.app, self.blob_base = app, blob_base

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def relocate(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 302:
                headers = dict(message["headers"])
                moved = urlsplit(headers.pop(b"location").decode())
                target = f"{self.blob_base}{moved.path}?{moved.query}"
                message = {**message, "headers": [*headers.items(),
                                                  (b"location", target.encode())]}
            await send(message)

        await self.app(scope, receive, relocate)


class UnderPrefix:
    """The stand-in under a path prefix, as GitHub Enterprise Server serves its API under
    /api/v3: its payloads' URLs and its log redirects carry the prefix."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app, self.prefix = app, prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "root_path": self.prefix}
        await self.app(scope, receive, send)


async def invoke(settings: Settings, tool_name: str, arguments: dict[str, Any]) -> Any:
    registry = build_registry(settings)
    tool = registry.get(tool_name)
    return await registry.invoke(tool, registry.parse(tool, arguments), CTX)


async def test_the_log_download_never_carries_the_token_to_another_host(
    github: StandIn, demo: Demo
) -> None:
    blobs = Recorded(github.app)
    with serve(blobs) as blob_url, serve(LogsElsewhere(github.app, blob_url.replace(
            "127.0.0.1", "localhost"))) as api_url:
        settings = Settings(github_api_url=api_url, github_token=GITHUB_TOKEN,
                            github_repos=REPOS, tool_timeout_s=5)
        job = failed_run(demo).jobs[1]
        status, data = await invoke(settings, "github.job_log",
                                    {"repo": CHECKOUT, "job_id": job.job_id})
    assert status == ToolStatus.SUCCESS and "exit code 1" in data["log"]
    [download] = blobs.headers
    assert download["host"].startswith("localhost:")
    assert "authorization" not in download


async def test_github_enterprise_base_url_with_logs_on_the_same_host(
    github: StandIn, demo: Demo
) -> None:
    # GitHub Enterprise Server serves the API under /api/v3 and may serve logs itself:
    # the stand-in mounted there needs the token for the download, which stays on its host.
    with serve(UnderPrefix(github.app, "/api/v3")) as url:
        settings = Settings(github_api_url=f"{url}/api/v3", github_token=GITHUB_TOKEN,
                            github_repos=REPOS, tool_timeout_s=5)
        job = failed_run(demo).jobs[1]
        status, data = await invoke(settings, "github.job_log",
                                    {"repo": CHECKOUT, "job_id": job.job_id, "tail_lines": 3})
        runs = await invoke(settings, "github.workflow_runs", {"repo": CHECKOUT, "limit": 1})
        with pytest.raises(ToolError, match="GitHub answered 404"):
            await invoke(settings, "github.workflow_jobs", {"repo": CHECKOUT, "run_id": 1})
    assert status == ToolStatus.SUCCESS and data["returned_lines"] == 3
    assert data["log"].splitlines()[-1] == "Cleaning up orphan processes"
    assert runs[1][0]["id"] == failed_run(demo).run_id
