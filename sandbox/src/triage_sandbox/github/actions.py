"""GitHub Actions: workflow runs, their jobs with steps, and job logs.

A job's log is fetched as on GitHub: `GET .../actions/jobs/{id}/logs` answers 302 with a
short-lived pre-signed download URL (here under `/_blobs/`, served by this app without
the API token, as GitHub's blob storage needs none), whose body is the plain-text log.
An expired or altered URL gets blob storage's 403."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from ..world.model import Job, Repo, WorkflowRun
from . import payloads
from .paging import paged
from .state import NotFound, base, found, state, ts

router = APIRouter()
BLOBS = "/_blobs/actions-results"
URL_LIFETIME = timedelta(minutes=10)
_DENIED = ('<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code>'
           "<Message>Server failed to authenticate the request. Make sure the value of "
           "Authorization header is formed correctly including the signature.</Message>"
           "<AuthenticationErrorDetail>{detail}</AuthenticationErrorDetail></Error>")


def run_payload(b: str, repo: Repo, run: WorkflowRun) -> dict[str, Any]:
    api = f"{b}/repos/{repo.full_name}/actions/runs/{run.run_id}"
    commit = repo.commit(run.head_sha)
    assert commit is not None  # runs are built on the world's commits
    who = {"name": commit.author.name, "email": commit.author.email}
    done = max((j.completed_at for j in run.jobs), default=run.created_at)
    return {"id": run.run_id, "name": run.name, "node_id": f"WFR_{run.run_id}",
            "head_branch": run.head_branch, "head_sha": run.head_sha, "path": run.path,
            "display_title": run.commit_message, "run_number": run.run_number,
            "run_attempt": run.run_attempt, "event": "push", "status": "completed",
            "conclusion": run.conclusion, "workflow_id": repo.repo_id * 10,
            "check_suite_id": run.run_id * 3, "url": api,
            "html_url": f"{b}/{repo.full_name}/actions/runs/{run.run_id}",
            "jobs_url": api + "/jobs", "logs_url": api + "/logs", "rerun_url": api + "/rerun",
            "cancel_url": api + "/cancel", "artifacts_url": api + "/artifacts",
            "check_suite_url": f"{b}/repos/{repo.full_name}/check-suites/{run.run_id * 3}",
            "workflow_url": f"{b}/repos/{repo.full_name}/actions/workflows/"
            f"{repo.repo_id * 10}", "pull_requests": [], "created_at": ts(run.created_at),
            "updated_at": ts(run.created_at if not run.jobs else done),
            "run_started_at": ts(run.created_at),
            "actor": payloads.user(b, commit.author),
            "triggering_actor": payloads.user(b, commit.author),
            "head_commit": {"id": commit.sha, "tree_id": commit.sha[::-1],
                            "message": commit.message, "timestamp": ts(commit.date),
                            "author": who, "committer": who},
            "repository": payloads.repo(b, repo), "head_repository": payloads.repo(b, repo)}


def job_payload(b: str, repo: Repo, run: WorkflowRun, job: Job) -> dict[str, Any]:
    api = f"{b}/repos/{repo.full_name}"
    steps = [{"name": s.name, "status": "completed", "conclusion": s.conclusion,
              "number": s.number, "started_at": ts(s.started_at),
              "completed_at": ts(s.completed_at)} for s in job.steps]
    return {"id": job.job_id, "run_id": run.run_id, "workflow_name": run.name,
            "head_branch": run.head_branch, "run_url": f"{api}/actions/runs/{run.run_id}",
            "run_attempt": run.run_attempt, "node_id": f"CR_{job.job_id}",
            "head_sha": run.head_sha, "url": f"{api}/actions/jobs/{job.job_id}",
            "html_url": f"{b}/{repo.full_name}/actions/runs/{run.run_id}/job/{job.job_id}",
            "status": "completed", "conclusion": job.conclusion,
            "created_at": ts(run.created_at), "started_at": ts(job.started_at),
            "completed_at": ts(job.completed_at), "name": job.name, "steps": steps,
            "check_run_url": f"{api}/check-runs/{job.job_id}", "labels": ["ubuntu-latest"],
            "runner_id": 1000 + job.job_id % 97,
            "runner_name": f"GitHub Actions {job.job_id % 97}",
            "runner_group_id": 2, "runner_group_name": "GitHub Actions"}


def _run(repo: Repo, run_id: int) -> WorkflowRun:
    run = next((r for r in repo.runs if r.run_id == run_id), None)
    if run is None:
        raise NotFound()
    return run


def _job(repo: Repo, job_id: int) -> tuple[WorkflowRun, Job]:
    for run in repo.runs:
        for job in run.jobs:
            if job.job_id == job_id:
                return run, job
    raise NotFound()


@router.get("/repos/{owner}/{name}/actions/runs")
async def list_runs(owner: str, name: str, request: Request) -> Any:
    repo, q = found(request, owner, name), request.query_params
    runs = [r for r in repo.runs if q.get("branch", r.head_branch) == r.head_branch
            and q.get("head_sha", r.head_sha) == r.head_sha
            and q.get("status", r.conclusion) in (r.conclusion, "completed")]
    return paged(request, [run_payload(base(request), repo, r) for r in runs],
                 wrap="workflow_runs")


@router.get("/repos/{owner}/{name}/actions/runs/{run_id}")
async def get_run(owner: str, name: str, run_id: int, request: Request) -> Any:
    repo = found(request, owner, name)
    return run_payload(base(request), repo, _run(repo, run_id))


@router.get("/repos/{owner}/{name}/actions/runs/{run_id}/jobs")
async def list_jobs(owner: str, name: str, run_id: int, request: Request) -> Any:
    repo = found(request, owner, name)
    run = _run(repo, run_id)
    return paged(request, [job_payload(base(request), repo, run, j) for j in run.jobs],
                 wrap="jobs")


@router.get("/repos/{owner}/{name}/actions/jobs/{job_id}")
async def get_job(owner: str, name: str, job_id: int, request: Request) -> Any:
    repo = found(request, owner, name)
    return job_payload(base(request), repo, *_job(repo, job_id))


def _signature(key: bytes, job_id: int, expiry: str) -> str:
    digest = hmac.new(key, f"{job_id}\n{expiry}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@router.get("/repos/{owner}/{name}/actions/jobs/{job_id}/logs")
async def job_logs(owner: str, name: str, job_id: int, request: Request) -> Response:
    repo = found(request, owner, name)
    run, job = _job(repo, job_id)
    now = datetime.now(UTC).replace(microsecond=0)
    start, expiry = now - timedelta(minutes=5), now + URL_LIFETIME
    params = {"rsct": "text/plain", "se": f"{expiry:%Y-%m-%dT%H:%M:%SZ}",
              "sig": _signature(state(request).blob_key, job.job_id,
                                f"{expiry:%Y-%m-%dT%H:%M:%SZ}"),
              "sp": "r", "spr": "https", "sr": "b", "st": f"{start:%Y-%m-%dT%H:%M:%SZ}",
              "sv": "2025-11-05"}
    path = f"{BLOBS}/{run.run_id}/workflow-job-run-{job.job_id}/logs/job/job-logs.txt"
    return RedirectResponse(f"{base(request)}{path}?{urlencode(params)}", status_code=302)


@router.get(BLOBS + "/{run_id}/workflow-job-run-{job_id}/logs/job/job-logs.txt")
async def job_log_blob(run_id: int, job_id: int, request: Request) -> Response:
    q, sandbox = request.query_params, state(request)
    expiry, given = q.get("se", ""), q.get("sig", "")
    valid = hmac.compare_digest(given, _signature(sandbox.blob_key, job_id, expiry))
    try:
        expired = datetime.fromisoformat(expiry.replace("Z", "+00:00")) < datetime.now(UTC)
    except ValueError:
        valid, expired = False, True
    if not valid or expired:
        detail = "Signed expiry time has passed" if valid else "Signature did not match"
        return Response(_DENIED.format(detail=detail), 403,
                        headers={"content-type": "application/xml"})
    job = next((j for repo in sandbox.demo.repos.values() for r in repo.runs if r.run_id ==
                run_id for j in r.jobs if j.job_id == job_id), None)
    if job is None:
        return Response(_DENIED.format(detail="The specified blob does not exist."), 404,
                        headers={"content-type": "application/xml"})
    # Blob storage serves exactly `text/plain` (the `rsct` parameter), no charset.
    return Response(job.log.encode(), headers={"content-type": "text/plain"})
