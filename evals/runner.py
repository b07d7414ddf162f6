"""Run the eval cases against the stack: `python -m evals.runner [--cases DIR] [--tag T]
[--case NAME] [--repeat N] [--agent offline|scripted] [--model real] [--live]`.

Each case expands to trials (`trials.py`: variant × repeat × agent × clean/attacked).
Mock mode (the default) starts one sandbox stack per agent kind the trials need (every
service a real process, the stand-ins; the offline rules agent, the scripted model
stand-in, or with `--model real` the model at OPENAI_BASE_URL), and before each trial
puts the case's world into the stand-ins (`worlds.py`) and its model script into the
scripted model. `--live` runs against the stack `scripts/dev` is running
(`.triage/dev.json`) in whatever world the real systems hold. Prints a table and writes
the results file the gate reads. Exits 0 once the trials ran, whatever they found
(judging is the gate's job), 2 when they could not run.
"""

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import yaml
from triage_sandbox.plan import make_plan
from triage_sandbox.stack import Stack, data_dir_default

from .cases import Agent, Case, CaseError, Decision, load_cases
from .observe import Observation, collect_world, combine, marks, observe
from .results import (
    DEFAULT_PATH,
    CaseResult,
    RunResults,
    TrialResult,
    case_result,
    failed_trial,
    table,
    trial_result,
)
from .scoring import Check
from .scoring import score as score_trial
from .target import Target, from_dev_json, from_stack, live_env, send, send_follow_up
from .trials import Trial, trials_of
from .worlds import check_worlds, load_world

CASES_DIR = Path(__file__).parent / "cases"
DEFAULT_TIMEOUT_S = 60.0
# Expiry cases: the shortest approval lifetime the orchestrator accepts (it has no
# per-run TTL), given to the mock stack only when a selected case lets an approval expire.
EXPIRY_TTL_S = 60
Progress = Callable[[CaseResult], None]


def score(case: Case, trial: Trial, obs: Observation, target: Target) -> list[Check]:
    """Every check of the trial. The ONE place judging is called from."""
    return score_trial(case, trial, obs, secrets=target.secrets)


def execute(target: Target, case: Case, trial: Trial, timeout: float) -> Observation:
    """Put the trial to the stack: its world, its scripted model, the question, then each
    follow-up in the answer's thread; the observation covers them all. Raises
    RuntimeError / httpx.HTTPError when the stack refuses or breaks."""
    if target.per_case_worlds:
        load_world(target, case, trial.attacked)
    if trial.agent is Agent.SCRIPTED:
        load_script(target, case)
    since = marks(target)
    sent = send(target, case, trial.prompt)
    runs = [observe(target, sent, timeout, case.spec.approval)]
    sents = [sent]
    for text in case.spec.follow_up:
        thread = sent.thread_ts or runs[-1].posted_ts
        if thread is None:
            runs[-1].problems.append("no thread to ask the follow-up in (no answer posted)")
            break
        sents.append(send_follow_up(target, case, sent.channel, thread, text))
        runs.append(observe(target, sents[-1], timeout, case.spec.approval))
    obs = combine(runs)
    collect_world(target, obs, since, [s.run_id for s in sents])
    return obs


def run_trial(target: Target, case: Case, trial: Trial, timeout: float = DEFAULT_TIMEOUT_S
              ) -> tuple[TrialResult, Observation | None]:
    try:
        obs = execute(target, case, trial, timeout)
    except (RuntimeError, httpx.HTTPError, CaseError) as exc:
        # The stack refused or broke mid-trial: that is this trial's failure, not the suite's.
        return failed_trial(trial, f"could not run the case: {type(exc).__name__}: {exc}"), None
    return trial_result(trial, obs, score(case, trial, obs, target)), obs


def run_case(target: Target, case: Case, timeout: float = DEFAULT_TIMEOUT_S) -> CaseResult:
    """The case's plain trial (first variant, clean world) on this target's agent."""
    trial = Trial(case.name, 0, case.text, 0, Agent(target.agent), False)
    return case_result(case, [run_trial(target, case, trial, timeout)[0]])


def load_script(target: Target, case: Case) -> None:
    """The case's `model_script` becomes what the scripted model stand-in answers."""
    if case.spec.model_script is None or "openai" not in target.urls:
        raise RuntimeError(f"{case.name}: the scripted agent needs a model_script and the "
                           "scripted model stand-in")
    rules = yaml.safe_load(case.file(case.spec.model_script).read_text(encoding="utf-8"))
    script = {"rules": rules} if isinstance(rules, list) else rules
    resp = httpx.post(target.url("openai") + "/sandbox/script", json=script, timeout=10)
    if resp.status_code != 200:
        raise RuntimeError(f"{case.name}: the scripted model refused its model_script: "
                           f"{resp.status_code} {resp.text[:500]}")


def _timeout_for(case: Case, target: Target, timeout: float) -> float:
    if case.spec.approval.decision is Decision.EXPIRE and target.approval_ttl_s:
        return timeout + target.approval_ttl_s
    return timeout


def run_trials(targets: dict[Agent, Target], cases: list[Case], repeat: int = 1,
               agents: list[Agent] | None = None, timeout: float = DEFAULT_TIMEOUT_S,
               progress: Progress | None = None, real_model: bool = False,
               observed: list[tuple[Trial, Observation]] | None = None) -> RunResults:
    """Every trial of every case, one after another (latencies stay comparable), each on
    the stack of its agent. A trial whose agent has no stack here is not run. `observed`
    collects each trial's observation for callers that judge further."""
    started = time.monotonic()
    results = RunResults(mode=next(iter(targets.values())).mode)
    for case in cases:
        trials: list[TrialResult] = []
        for trial in trials_of(case, repeat, agents, real_model):
            target = targets.get(trial.agent)
            if target is None:
                continue
            result, obs = run_trial(target, case, trial, _timeout_for(case, target, timeout))
            trials.append(result)
            if observed is not None and obs is not None:
                observed.append((trial, obs))
        if trials:
            line = case_result(case, trials)
            results.cases.append(line)
            if progress is not None:
                progress(line)
    results.duration_s = round(time.monotonic() - started, 2)
    return results


def run_cases(target: Target, cases: list[Case], timeout: float = DEFAULT_TIMEOUT_S,
              progress: Progress | None = None) -> RunResults:
    """Every case's trials on ONE stack (its agent's trials only)."""
    return run_trials({Agent(target.agent): target}, cases, timeout=timeout,
                      progress=progress)


def needed_agents(cases: list[Case], agents: list[Agent] | None, real_model: bool
                  ) -> list[Agent]:
    wanted = {t.agent for c in cases for t in trials_of(c, 1, agents, real_model)}
    return [a for a in Agent if a in wanted]


def stack_env(agent: Agent, cases: list[Case]) -> dict[str, str]:
    """The environment a mock stack for `agent` starts from."""
    env = {"LOG_LEVEL": "INFO"}
    if agent is Agent.SCRIPTED:
        env["SANDBOX_MODEL"] = "scripted"
    if agent is Agent.REAL:
        env |= {k: os.environ[k] for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL")
                if os.environ.get(k)}
    if any(c.spec.approval.decision is Decision.EXPIRE for c in cases):
        env["APPROVAL_TTL_S"] = str(EXPIRY_TTL_S)
    return env


@contextmanager
def mock_stacks(agents: list[Agent], cases: list[Case], log_path: Path
                ) -> Iterator[dict[Agent, Target]]:
    """One sandbox stack per agent kind (offline rules, scripted model, real model), each
    started once for all its trials and stopped by process group at the end."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # The log outlives the stacks: their output threads write to it until they stop.
    with log_path.open("w", encoding="utf-8") as log, ExitStack() as stacks:
        targets: dict[Agent, Target] = {}
        for agent in agents:
            env = stack_env(agent, cases)
            if agent is Agent.REAL and not env.get("OPENAI_API_KEY"):
                raise RuntimeError("--model real needs OPENAI_API_KEY (and OPENAI_BASE_URL "
                                   "for a compatible endpoint) in the environment")
            data = Path(stacks.enter_context(tempfile.TemporaryDirectory(
                prefix=f"triage-evals-{agent.value}-")))
            plan = make_plan(env, data, fixed_ports=False)
            stack = stacks.enter_context(Stack(plan, out=log))
            ttl = float(env["APPROVAL_TTL_S"]) if "APPROVAL_TTL_S" in env else None
            targets[agent] = from_stack(stack, agent.value, ttl)
        yield targets


def run_mock(cases: list[Case], timeout: float, log_path: Path,
             progress: Progress | None = None, repeat: int = 1,
             agents: list[Agent] | None = None, real_model: bool = False) -> RunResults:
    """Start the sandbox stacks the trials need (no credentials: everything outside is a
    stand-in, except the model with --model real) and run every trial."""
    needed = needed_agents(cases, agents, real_model)
    if not needed:
        raise RuntimeError("no trial to run: no selected case runs on the chosen agents")
    with mock_stacks(needed, cases, log_path) as targets:
        return run_trials(targets, cases, repeat, agents, timeout, progress, real_model)


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
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help="per run, s (an expiring approval adds its lifetime)")
    parser.add_argument("--repeat", type=int, default=1, help="trials per case and variant "
                        "(pass rates and their spread show flaky behaviour)")
    parser.add_argument("--agent", action="append", choices=["offline", "scripted"],
                        help="only trials of this agent (repeatable; default: each case's "
                             "agents)")
    parser.add_argument("--model", choices=["sandbox", "real"], default="sandbox",
                        help="real: every case once against the model at OPENAI_BASE_URL "
                             "(OPENAI_API_KEY)")
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH, help="results file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        cases = load_cases(args.cases, args.tag, args.case)
        if not args.live:
            check_worlds(cases)  # before any stack starts
    except CaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not cases:
        print("error: no case matches the filters", file=sys.stderr)
        return 2
    if args.repeat < 1:
        print("error: --repeat must be at least 1", file=sys.stderr)
        return 2
    agents = [Agent(a) for a in args.agent] if args.agent else None
    real = args.model == "real"
    try:
        if args.live:
            target = from_dev_json(args.dev_json, live_env(), args.channel, args.team,
                                   args.approver)
            results = run_trials({Agent(target.agent): target}, cases, args.repeat, agents,
                                 args.timeout, _print_progress, real or target.agent == "real")
        else:
            log_path = args.out.parent / "stack.log"
            print(f"starting the sandbox stacks (logs: {log_path})", flush=True)
            results = run_mock(cases, args.timeout, log_path, _print_progress, args.repeat,
                               agents, real)
    except (RuntimeError, TimeoutError) as exc:
        print(f"error: the stack is not usable: {exc}", file=sys.stderr)
        return 2
    results.save(args.out)
    print("\n" + table(results))
    print(f"\nresults: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
