"""CI runs of a world: the workflow's jobs and steps on one commit, and their logs written
the way GitHub Actions serves them (a BOM, one `<timestamp> <text>` line per line,
`##[group]Run <command>` headers, `##[error]Process completed with exit code 1.`).

A failure stops its job at the failing step: later steps are skipped, except the
post-steps and "Complete job", which GitHub runs anyway.
"""

from datetime import datetime, timedelta

from .model import Job, Step
from .schema import FailureSpec, JobSpec, StepSpec

QUEUED = timedelta(seconds=4)  # from the run's creation to its jobs' start
LINE = timedelta(milliseconds=12)  # between two log lines of a step
BOM = "\ufeff"
EXIT_1 = "##[error]Process completed with exit code 1."


def _stamp(at: datetime) -> str:
    # GitHub writes seven fractional digits (100 ns ticks).
    return f"{at:%Y-%m-%dT%H:%M:%S}.{at.microsecond:06d}0Z"


def _always_runs(step: StepSpec) -> bool:
    return step.name.startswith("Post ") or step.name == "Complete job"


def _step_lines(step: StepSpec, failure: FailureSpec | None) -> list[str]:
    lines: list[str] = []
    if step.run is not None:
        command = step.run.splitlines() or [""]
        lines += [f"##[group]Run {command[0]}", *command, "shell: /usr/bin/bash -e {0}",
                  "##[endgroup]"]
    output = failure.log if failure is not None else step.log
    lines += output.splitlines()
    if failure is not None:
        lines.append(EXIT_1)
    return lines


def build_job(spec: JobSpec, job_id: int, created: datetime,
              failure: FailureSpec | None) -> Job:
    """One job of a run created at `created`; `failure` applies if it names this job."""
    failure = failure if failure is not None and failure.job == spec.name else None
    clock = created + QUEUED
    steps: list[Step] = []
    log: list[str] = []
    failed = False
    for number, step in enumerate(spec.steps, start=1):
        fails_here = failure is not None and step.name == failure.step
        if failed and not _always_runs(step):
            steps.append(Step(number, step.name, "skipped", clock, clock))
            continue
        lines = _step_lines(step, failure if fails_here else None)
        log += [_stamp(clock + i * LINE) + " " + line for i, line in enumerate(lines)]
        end = clock + timedelta(seconds=step.seconds)
        steps.append(Step(number, step.name, "failure" if fails_here else "success",
                          clock, end))
        clock, failed = end, failed or fails_here
    text = BOM + "\n".join(log) + "\n" if log else ""
    return Job(job_id, spec.name, "failure" if failed else "success", created + QUEUED,
               clock, tuple(steps), text)


def check_failure(jobs: list[JobSpec], failure: FailureSpec) -> None:
    job = next((j for j in jobs if j.name == failure.job), None)
    if job is None:
        raise ValueError(f"failure names job {failure.job!r}, not in the workflow")
    if not any(s.name == failure.step for s in job.steps):
        raise ValueError(f"failure names step {failure.step!r}, not in job {job.name!r}")
