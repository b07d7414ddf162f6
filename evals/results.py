"""The results file (`evals/results/latest.json`): what the runner writes and the gate and
the report read. One model for all three, so nobody guesses at the runner's format.

Version 2 keeps every TRIAL (a case's question variant × repeat × agent × clean/attacked)
with all its checks, usage and the judge's prompt and verdicts; the case-level fields of
version 1 (`passed`, `reasons`, `latency_s`...) are still filled from the trials, so a
reader of one line per case still has it. Aggregates (pass rates and their spread, per tag,
per skill, the security metrics) are computed from the trials by `evals.metrics`, never
stored twice.
"""

import sys
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from triage_contracts.ids import utcnow

from .cases import Agent, Case
from .observe import Observation
from .scoring import ATTACK, Check, Trial, trial_passed

DEFAULT_PATH = Path(__file__).parent / "results" / "latest.json"
ANSWER_CHARS = 4000  # enough to read the answer in the report, not a whole pasted log
VERSION = 2


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrialResult(_Model):
    case: str
    variant: int = 0
    prompt: str = ""
    repeat: int = 0
    agent: str = "offline"
    attacked: bool = False
    passed: bool
    checks: list[Check] = Field(default_factory=list)
    answer: str = ""  # what the bot posted (capped), for the report
    latency_s: float | None = None
    tokens: int = 0
    cost_usd: float = 0.0
    model_calls: int = 0
    run_id: str | None = None
    status: str | None = None
    skill: str | None = None
    attack_success: bool | None = None  # None: no attack was planted in this trial
    attack_reasons: list[str] = Field(default_factory=list)
    judge_prompt: str | None = None  # verdicts: the checks of kind "judge"

    @property
    def trial(self) -> Trial:
        return Trial(self.case, self.variant, self.prompt, self.repeat, Agent(self.agent),
                     self.attacked)

    @property
    def key(self) -> str:
        return self.trial.key

    @property
    def reasons(self) -> list[str]:
        return [f"{c.name}: {c.detail}" for c in self.checks if c.failed]

    @property
    def utility(self) -> bool:
        """The task done right, whatever the attack did (AgentDojo's utility)."""
        return trial_passed([c for c in self.checks if c.name != ATTACK])

    @property
    def judge_verdicts(self) -> list[Check]:
        return [c for c in self.checks if c.kind == "judge"]


class CaseResult(_Model):
    name: str
    tags: list[str]
    passed: bool
    reasons: list[str] = Field(default_factory=list)
    known_failure: str | None = None
    latency_s: float | None = None
    run_id: str | None = None
    status: str | None = None
    skill: str | None = None
    description: str = ""
    trials: list[TrialResult] = Field(default_factory=list)

    @property
    def verdict(self) -> str:
        if self.passed:
            # A known failure that passes: the fix landed, the mark should go.
            return "PASS*" if self.known_failure else "PASS"
        return "KNOWN-FAIL" if self.known_failure else "FAIL"

    @property
    def outcomes(self) -> list[bool]:
        """Pass/fail per trial (a version-1 case without trials: its one verdict)."""
        return [t.passed for t in self.trials] or [self.passed]


class RunResults(_Model):
    version: int = VERSION
    mode: str
    started_at: datetime = Field(default_factory=utcnow)
    duration_s: float = 0.0
    cases: list[CaseResult] = Field(default_factory=list)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "RunResults":
        return cls.model_validate_json(path.read_text(encoding="utf-8"))


def load_for_cli(path: Path, previous: Path | None
                 ) -> tuple[RunResults, RunResults | None] | None:
    """A results file and the one to compare with, for the gate and the report; None
    (after saying why on stderr) when either cannot be read."""
    try:
        return RunResults.load(path), RunResults.load(previous) if previous else None
    except (OSError, ValueError, ValidationError) as exc:
        print(f"error: cannot read the results: {exc}", file=sys.stderr)
        return None


def trial_result(trial: Trial, obs: Observation, checks: list[Check]) -> TrialResult:
    """One trial's record, from what the runner observed and what `score` found."""
    attack = [c for c in checks if c.name == ATTACK]
    judged = [c.prompt for c in checks if c.kind == "judge" and c.prompt]
    # The judge's prompt is kept once per trial, not once per element.
    kept = [c.model_copy(update={"prompt": None}) if c.prompt else c for c in checks]
    return TrialResult(
        case=trial.case, variant=trial.variant, prompt=trial.prompt, repeat=trial.repeat,
        agent=Agent(trial.agent).value, attacked=trial.attacked, passed=trial_passed(checks),
        checks=kept, answer=obs.reply_text[:ANSWER_CHARS], latency_s=obs.latency_s,
        tokens=obs.tokens, cost_usd=obs.cost_usd, model_calls=obs.model_calls,
        run_id=obs.run_id, status=obs.status, skill=obs.skill,
        attack_success=any(c.failed for c in attack) if attack else None,
        attack_reasons=[c.detail for c in attack if c.failed],
        judge_prompt=judged[0] if judged else None)


def failed_trial(trial: Trial, why: str, run_id: str | None = None) -> TrialResult:
    """A trial that could not run (the stack refused or broke): a failure with the reason."""
    check = Check(name="ran", passed=False, detail=why)
    return TrialResult(case=trial.case, variant=trial.variant, prompt=trial.prompt,
                       repeat=trial.repeat, agent=Agent(trial.agent).value,
                       attacked=trial.attacked,
                       passed=False, checks=[check], run_id=run_id)


def case_result(case: Case, trials: list[TrialResult]) -> CaseResult:
    """The case's line: passed only when every trial passed; the version-1 fields from the
    trials (reasons prefixed with the trial when there are several)."""
    many = len(trials) > 1
    reasons = [f"[{t.key}] {r}" if many else r for t in trials for r in t.reasons]
    latencies = [t.latency_s for t in trials if t.latency_s is not None]
    first = trials[0] if trials else None
    return CaseResult(
        name=case.name, tags=case.tags, passed=bool(trials) and all(t.passed for t in trials),
        reasons=reasons if trials else ["no trial ran"], known_failure=case.spec.known_failure,
        latency_s=round(sum(latencies) / len(latencies), 3) if latencies else None,
        run_id=first.run_id if first else None,
        status=next((t.status for t in trials if t.status != "done"), "done") if trials
        else None,
        skill=first.skill if first else None, description=case.spec.description.strip(),
        trials=trials)


def table(results: RunResults) -> str:
    """A plain-text table: case, verdict, trials passed, latency, reasons (one line each)."""
    width = max([len(c.name) for c in results.cases] + [4])
    lines = [f"{'case':<{width}}  {'result':<10}  {'trials':>6}  {'latency':>8}  reasons",
             f"{'-' * width}  {'-' * 10}  {'-' * 6}  {'-' * 8}  {'-' * 40}"]
    for case in results.cases:
        latency = f"{case.latency_s:.2f}s" if case.latency_s is not None else "-"
        trials = f"{sum(case.outcomes)}/{len(case.outcomes)}"
        why = list(case.reasons)
        if case.known_failure:
            why.insert(0, f"[known: {case.known_failure}]")
        first, *rest = why or [""]
        lines.append(f"{case.name:<{width}}  {case.verdict:<10}  {trials:>6}  {latency:>8}  "
                     f"{first}")
        lines += [f"{'':<{width}}  {'':<10}  {'':>6}  {'':>8}  {reason}" for reason in rest]
    passed = sum(c.passed for c in results.cases)
    lines.append(f"\n{passed}/{len(results.cases)} passed in {results.duration_s:.1f}s "
                 f"({results.mode} mode)")
    return "\n".join(lines)
