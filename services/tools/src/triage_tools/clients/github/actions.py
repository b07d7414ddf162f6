"""GitHub Actions: workflow runs, a run's jobs with their steps, and the tail of a job's log.

A job's log is fetched as GitHub requires: `GET .../actions/jobs/{id}/logs` answers 302
with a short-lived pre-signed download URL, which is then downloaded with httpx. The GitHub
token goes with that download only when it stays on the API's own origin (GitHub Enterprise
Server may serve logs itself); github.com sends it to blob storage, which must never see
the token. Only the last lines are kept while streaming, so a huge log costs no memory.
"""

import re
from collections import deque
from itertools import islice
from typing import Any

import httpx
from github.GithubObject import NotSet
from triage_contracts.errors import ErrorCode, TemporaryError

from ...errors import ToolError
from . import shapes
from .session import GitHubSession

# GitHub prefixes every log line with its time (`2025-03-10T11:58:01.1234567Z `).
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z ?")


class ActionsClient:
    def __init__(self, session: GitHubSession) -> None:
        self.session = session

    async def workflow_runs(self, repo: str, limit: int, branch: str | None = None,
                            status: str | None = None) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            # PyGithub takes a branch name too (its docstring says so), typed as Branch.
            runs = self.session.github(limit).get_repo(repo).get_workflow_runs(
                branch=branch or NotSet, status=status or NotSet)  # type: ignore[arg-type]
            return [shapes.run(r) for r in islice(runs, limit)]

        return await self.session.call(f"workflow_runs({repo})", run)

    async def workflow_jobs(self, repo: str, run_id: int) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            jobs = self.session.github(100).get_repo(repo).get_workflow_run(run_id).jobs()
            return {"run_id": run_id, "jobs": [shapes.job(j) for j in islice(jobs, 100)]}

        return await self.session.call(f"workflow_jobs({repo} run {run_id})", run,
                                       missing=f"run {run_id} of {repo} (use a run's `id`, "
                                       "not its run_number)")

    async def job_log(self, repo: str, job_id: int, tail_lines: int) -> dict[str, Any]:
        def locate() -> str:
            job = self.session.github().get_repo(repo).get_workflow_job(job_id)
            try:
                return job.logs_url()  # GitHub's 302 Location
            except KeyError:
                raise ToolError(f"GitHub did not redirect to the log of job {job_id}",
                                ErrorCode.UPSTREAM_REJECTED) from None

        url = await self.session.call(f"job_log({repo} job {job_id})", locate,
                                      missing=f"job {job_id} of {repo}")
        total, lines = await self._tail(url, job_id, tail_lines)
        return {"job_id": job_id, "total_lines": total, "returned_lines": len(lines),
                "log": "\n".join(lines)}

    async def _tail(self, url: str, job_id: int, keep: int) -> tuple[int, list[str]]:
        """(lines in the whole log, its last `keep` lines without timestamps)."""
        tail: deque[str] = deque(maxlen=keep)
        total = 0
        headers = await self.session.headers_for(url)
        try:
            async with httpx.AsyncClient(timeout=self.session.timeout_s) as http, http.stream(
                    "GET", url, headers=headers) as response:
                _check_download(response, job_id)
                async for line in response.aiter_lines():
                    total += 1
                    tail.append(_STAMP.sub("", line.lstrip("\ufeff"), count=1))
        except httpx.TimeoutException as exc:
            raise TemporaryError(f"the log of job {job_id} did not download within "
                                 f"{self.session.timeout_s}s") from exc
        except httpx.TransportError as exc:
            raise TemporaryError(f"the log of job {job_id} could not be downloaded: "
                                 f"{type(exc).__name__}") from exc
        return total, list(tail)


def _check_download(response: httpx.Response, job_id: int) -> None:
    status = response.status_code
    if status in (404, 410):
        raise ToolError(f"the log of job {job_id} is no longer available (HTTP {status})",
                        ErrorCode.UPSTREAM_REJECTED)
    if status >= 400:  # 403: the pre-signed URL expired or was refused; a retry gets a new one
        raise TemporaryError(f"the log download of job {job_id} answered HTTP {status}")
