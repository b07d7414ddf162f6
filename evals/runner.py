"""Run the eval cases against the stack: `python -m evals.runner [--cases DIR] [--tag T]
[--case NAME] [--live]`.

Mock mode (the default) starts the sandbox stack once (every service a real process, the
stand-ins, the offline model) and runs every case against it; `--live` runs against the
stack `scripts/dev` is running (`.triage/dev.json`), so the same cases can exercise real
credentials. Prints a table and writes the results file the gate reads. Exits 0 once the
cases ran, whatever they found (judging is the gate's job), 2 when they could not run.
"""

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from triage_sandbox.plan import make_plan
from triage_sandbox.stack import Stack, data_dir_default

from .cases import Case, CaseError, load_cases
from .checks import evaluate
from .observe import observe
from .results import DEFAULT_PATH, CaseResult, RunResults, table
from .target import Target, from_dev_json, from_stack, live_env, send

CASES_DIR = Path(__file__).parent / "cases"
DEFAULT_TIMEOUT_S = 60.0
Progress = Callable[[CaseResult], None]


def run_case(target: Target, case: Case, timeout: float = DEFAULT_TIMEOUT_S) -> CaseResult:
    result = CaseResult(name=case.name, tags=case.tags, passed=False,
                        known_failure=case.spec.known_failure)
    try:
        sent = send(target, case)
        result.run_id = sent.run_id
        obs = observe(target, sent, timeout)
    except (RuntimeError, httpx.HTTPError) as exc:
        # The stack refused or broke mid-case: that is this case's failure, not the suite's.
        result.reasons = [f"could not run the case: {type(exc).__name__}: {exc}"]
        return result
    result.reasons = evaluate(case, obs)
    result.passed = not result.reasons
    result.latency_s, result.status, result.skill = obs.latency_s, obs.status, obs.skill
    return result


def run_cases(target: Target, cases: list[Case], timeout: float = DEFAULT_TIMEOUT_S,
              progress: Progress | None = None) -> RunResults:
    """Cases one after another: latencies stay comparable between runs."""
    started = time.monotonic()
    results = RunResults(mode=target.mode)
    for case in cases:
        result = run_case(target, case, timeout)
        results.cases.append(result)
        if progress is not None:
            progress(result)
    results.duration_s = round(time.monotonic() - started, 2)
    return results


def run_mock(cases: list[Case], timeout: float, log_path: Path,
             progress: Progress | None = None) -> RunResults:
    """Start the sandbox stack (no credentials: everything outside is a stand-in)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="triage-evals-") as data, \
            log_path.open("w", encoding="utf-8") as log:
        plan = make_plan({"LOG_LEVEL": "INFO"}, Path(data), fixed_ports=False)
        stack = Stack(plan, out=log).start(timeout=90)
        try:
            return run_cases(from_stack(stack), cases, timeout, progress)
        finally:
            stack.stop()


def _print_progress(result: CaseResult) -> None:
    print(f"{result.verdict:<10} {result.name}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m evals.runner", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=Path, default=CASES_DIR, help="folder of case folders")
    parser.add_argument("--tag", action="append", help="only cases with this tag (repeatable)")
    parser.add_argument("--case", action="append", help="only this case (repeatable)")
    parser.add_argument("--live", action="store_true", help="use the stack scripts/dev runs")
    parser.add_argument("--dev-json", type=Path, default=data_dir_default() / "dev.json",
                        help="the state file of scripts/dev (default: .triage/dev.json)")
    parser.add_argument("--team", help="live, real Slack: the workspace (team) id")
    parser.add_argument("--channel", help="live: channel to ask in (sandbox: C_TRIAGE)")
    parser.add_argument("--approver", help="live: who rejects proposed writes (EVAL_APPROVER)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="per case, s")
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH, help="results file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        cases = load_cases(args.cases, args.tag, args.case)
    except CaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not cases:
        print("error: no case matches the filters", file=sys.stderr)
        return 2
    try:
        if args.live:
            target = from_dev_json(args.dev_json, live_env(), args.channel, args.team,
                                   args.approver)
            results = run_cases(target, cases, args.timeout, _print_progress)
        else:
            log_path = args.out.parent / "stack.log"
            print(f"starting the sandbox stack (logs: {log_path})", flush=True)
            results = run_mock(cases, args.timeout, log_path, _print_progress)
    except (RuntimeError, TimeoutError) as exc:
        print(f"error: the stack is not usable: {exc}", file=sys.stderr)
        return 2
    results.save(args.out)
    print("\n" + table(results))
    print(f"\nresults: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
