"""GitHub Actions (CI): recent runs, one run's jobs and steps (which step failed), and the
tail of a job's log (why it failed). A cut log keeps its end: that is where errors are."""

from typing import Any

from triage_contracts.tools import JobLogArgs, WorkflowJobsArgs, WorkflowRunsArgs

from .clients.github.actions import ActionsClient
from .github_access import READ, RepoAccess
from .registry import CallContext, Tool


class ActionTools:
    def __init__(self, client: ActionsClient, access: RepoAccess) -> None:
        self.client = client
        self.access = access

    async def workflow_runs(self, args: WorkflowRunsArgs, _: CallContext) -> list[Any]:
        self.access.check(args.repo)
        return await self.client.workflow_runs(args.repo, args.limit, branch=args.branch,
                                               status=args.status)

    async def workflow_jobs(self, args: WorkflowJobsArgs, _: CallContext) -> dict[str, Any]:
        self.access.check(args.repo)
        return await self.client.workflow_jobs(args.repo, args.run_id)

    async def job_log(self, args: JobLogArgs, _: CallContext) -> dict[str, Any]:
        self.access.check(args.repo)
        return await self.client.job_log(args.repo, args.job_id, args.tail_lines)

    def tools(self, timeout_s: float) -> list[Tool]:
        off = self.access.disabled()
        actions = ("actions:read",)
        return [
            Tool.of("github.workflow_runs", self.workflow_runs, scopes=actions,
                    timeout_s=timeout_s, rate=READ, disabled=off),
            Tool.of("github.workflow_jobs", self.workflow_jobs, scopes=actions,
                    timeout_s=timeout_s, rate=READ, disabled=off,
                    is_empty=lambda data: not data.get("jobs")),
            # The 302 from the API, then the download from where it points.
            Tool.of("github.job_log", self.job_log, scopes=actions, timeout_s=2 * timeout_s,
                    rate=READ, disabled=off, keep_tail=True,
                    is_empty=lambda data: not data.get("log")),
        ]
