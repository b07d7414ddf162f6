"""Aggregates over the trials of a results file: what the gate thresholds and the report
plots. Pure; computed on reading, so a results file never holds two versions of a number.

- per case: pass rate over all its trials, and its SPREAD between repeats (the pass rate
  of each repeat over the case's variants/agents/attacks, then min/max/stddev), so a
  flaky case shows as spread rather than hiding in an average;
- per tag, per skill (the skill the run picked) and per agent: trials passed / trials;
- security (trials of cases with an attack): utility without attack (clean trials that
  passed), utility under attack (attacked trials that did the task, whatever the attack
  did) and attack success rate (attacked trials where the attack got what it was after).
"""

import statistics
from collections import defaultdict
from dataclasses import dataclass

from .results import CaseResult, RunResults, TrialResult


@dataclass(frozen=True)
class Rate:
    name: str
    passed: int
    total: int

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0


@dataclass(frozen=True)
class CaseStats:
    name: str
    trials: int
    passed: int
    repeat_rates: list[float]  # pass rate of each repeat, in repeat order
    latency_s: float | None  # means over the trials that have them
    tokens: float
    cost_usd: float

    @property
    def pass_rate(self) -> float:
        return self.passed / self.trials if self.trials else 0.0

    @property
    def spread(self) -> tuple[float, float, float]:
        """(min, max, population stddev) of the per-repeat pass rates."""
        rates = self.repeat_rates or [self.pass_rate]
        return min(rates), max(rates), statistics.pstdev(rates)


@dataclass(frozen=True)
class Security:
    clean: Rate  # utility without attack
    attacked: Rate  # utility under attack
    attack_success: Rate  # attacks that succeeded / attacked trials

    @property
    def asr(self) -> float:
        return self.attack_success.rate


def case_stats(case: CaseResult) -> CaseStats:
    trials = case.trials
    by_repeat: dict[int, list[bool]] = defaultdict(list)
    for trial in trials:
        by_repeat[trial.repeat].append(trial.passed)
    latencies = [t.latency_s for t in trials if t.latency_s is not None]
    if not latencies and case.latency_s is not None:
        latencies = [case.latency_s]
    outcomes = case.outcomes
    return CaseStats(
        name=case.name, trials=len(outcomes), passed=sum(outcomes),
        repeat_rates=[sum(v) / len(v) for _, v in sorted(by_repeat.items())],
        latency_s=_mean(latencies),
        tokens=_mean([t.tokens for t in trials]) or 0.0,
        cost_usd=_mean([t.cost_usd for t in trials]) or 0.0)


def flaky(case: CaseResult) -> bool:
    """The same trial (variant, agent, clean or attacked) passed in some repeats and
    failed in others. A clean pass next to an attacked failure is not flakiness."""
    groups: dict[tuple[int, str, bool], set[bool]] = defaultdict(set)
    for trial in case.trials:
        groups[(trial.variant, trial.agent, trial.attacked)].add(trial.passed)
    return any(len(outcomes) > 1 for outcomes in groups.values())


def per_tag(results: RunResults, exclude: frozenset[str] = frozenset()) -> dict[str, Rate]:
    counts: dict[str, list[bool]] = defaultdict(list)
    for case in results.cases:
        if case.name not in exclude:
            for tag in case.tags:
                counts[tag] += case.outcomes
    return {tag: Rate(tag, sum(v), len(v)) for tag, v in sorted(counts.items())}


def per_skill(results: RunResults) -> dict[str, Rate]:
    """By the skill each trial's run picked ("none" when it picked none)."""
    counts: dict[str, list[bool]] = defaultdict(list)
    for case in results.cases:
        for trial in case.trials or []:
            counts[trial.skill or "none"].append(trial.passed)
        if not case.trials:
            counts[case.skill or "none"].append(case.passed)
    return {skill: Rate(skill, sum(v), len(v)) for skill, v in sorted(counts.items())}


def per_agent(results: RunResults) -> dict[str, Rate]:
    """By the agent that answered (offline rules, the scripted model, a real model)."""
    counts: dict[str, list[bool]] = defaultdict(list)
    for case in results.cases:
        for trial in case.trials:
            counts[trial.agent].append(trial.passed)
    return {agent: Rate(agent, sum(v), len(v)) for agent, v in sorted(counts.items())}


def attacked_trials(results: RunResults) -> list[TrialResult]:
    return [t for c in results.cases for t in c.trials if t.attacked]


def security(results: RunResults) -> Security:
    attacked = attacked_trials(results)
    targets = {t.case for t in attacked}
    clean = [t for c in results.cases if c.name in targets for t in c.trials if not t.attacked]
    return Security(
        clean=Rate("utility without attack", sum(t.passed for t in clean), len(clean)),
        attacked=Rate("utility under attack", sum(t.utility for t in attacked), len(attacked)),
        attack_success=Rate("attack success", sum(bool(t.attack_success) for t in attacked),
                            len(attacked)))


def _mean(values: list[float] | list[int]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None
