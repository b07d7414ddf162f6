"""The release gate: `python -m evals.gate RESULTS [--threshold TAG=RATE ...]
[--previous OLD] [--exclude CASE ...]`.

Exits 1 when a tag's pass rate (trials passed / trials) falls under its threshold or any
attack succeeded, 2 when the results cannot be read, 0 otherwise. Thresholds default to
`evals/gate.yaml`. Known failures count as failures (a release with a known hole is still
a release with a hole) but are listed apart from new failures, so a reader sees at once
what regressed. `--exclude` drops named cases from the rates and the attack count,
explicitly and by name, for CI that must go green while a known failure waits for its
fix; excluded cases are still listed. A required tag, or one given on the command line,
with no trials fails: no data is no pass. With `--previous`, the change per tag and the
cases that passed before and fail now are listed (they do not fail the gate by
themselves: the thresholds do).
"""

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import metrics
from .cases import Tag
from .results import CaseResult, RunResults, load_for_cli

CONFIG = Path(__file__).with_name("gate.yaml")


@dataclass(frozen=True)
class TagRate:
    tag: str
    passed: int
    total: int
    minimum: float
    width: int = 9

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0

    @property
    def ok(self) -> bool:
        return self.minimum <= 0 or (self.total > 0 and self.rate >= self.minimum)

    def line(self) -> str:
        verdict = "ok" if self.ok else "BELOW THRESHOLD"
        if not self.total:
            return f"{self.tag:<{self.width}} no cases (min {self.minimum:.0%}): {verdict}"
        return (f"{self.tag:<{self.width}} {self.passed}/{self.total} = {self.rate:.0%} "
                f"(min {self.minimum:.0%}): {verdict}")


@dataclass(frozen=True)
class Verdict:
    rates: list[TagRate]
    new_failures: list[CaseResult]
    known_failures: list[CaseResult]
    fixed: list[CaseResult]  # marked known_failure, but passed
    excluded: list[str]
    attacks: list[str] = field(default_factory=list)  # "case [trial]: why", counted
    flaky: list[str] = field(default_factory=list)  # passed in some repeats only
    changes: list[str] = field(default_factory=list)  # vs the previous results

    @property
    def ok(self) -> bool:
        return all(rate.ok for rate in self.rates) and not self.attacks


def judge(results: RunResults, minimums: dict[str, float],
          exclude: frozenset[str] = frozenset(), required: frozenset[str] | None = None,
          previous: RunResults | None = None) -> Verdict:
    """`required`: tags that fail without trials (default: every tag in `minimums`)."""
    rates = metrics.per_tag(results, exclude)
    must = frozenset(minimums) if required is None else required
    checked = [t for t in minimums if t in must or (t in rates and rates[t].total)]
    width = max([9, *(len(t) for t in checked)])
    failed = [c for c in results.cases if not c.passed]
    return Verdict(
        rates=[TagRate(t, rates[t].passed if t in rates else 0,
                       rates[t].total if t in rates else 0, minimums[t], width)
               for t in checked],
        new_failures=[c for c in failed if not c.known_failure],
        known_failures=[c for c in failed if c.known_failure],
        fixed=[c for c in results.cases if c.passed and c.known_failure],
        excluded=sorted(exclude & {c.name for c in results.cases}),
        attacks=[f"{c.name} [{t.key}]: {'; '.join(t.attack_reasons)}"
                 for c in results.cases if c.name not in exclude
                 for t in c.trials if t.attack_success],
        flaky=[c.name for c in results.cases if metrics.flaky(c)],
        changes=compare(results, previous) if previous is not None else [])


def compare(results: RunResults, previous: RunResults) -> list[str]:
    """Per tag the change of pass rate; per case what passed before and fails now."""
    now, before = metrics.per_tag(results), metrics.per_tag(previous)
    lines = [f"{tag}: {before[tag].rate:.0%} -> {now[tag].rate:.0%} "
             f"({(now[tag].rate - before[tag].rate) * 100:+.0f} points)"
             for tag in sorted(set(now) & set(before)) if now[tag].rate != before[tag].rate]
    old = {c.name: c for c in previous.cases}
    for case in results.cases:
        was = old.get(case.name)
        if was is not None and was.passed and not case.passed:
            lines.append(f"REGRESSED {case.name}: {'; '.join(case.reasons[:3])}")
        elif was is not None and not was.passed and case.passed:
            lines.append(f"fixed {case.name}")
    lines += [f"new case {c.name}" for c in results.cases if c.name not in old]
    lines += [f"case gone {name}" for name in old if name not in
              {c.name for c in results.cases}]
    return lines


def report(verdict: Verdict) -> str:
    lines = [rate.line() for rate in verdict.rates]
    attack = "none succeeded" if not verdict.attacks else f"{len(verdict.attacks)} SUCCEEDED"
    lines.append(f"attacks: {attack} (must be none)")
    lines += [f"  {a}" for a in verdict.attacks]
    if verdict.new_failures:
        lines.append("\nNEW failures:")
        lines += [f"  {c.name}: {'; '.join(c.reasons)}" for c in verdict.new_failures]
    if verdict.known_failures:
        lines.append("\nKnown failures (counted as failures):")
        lines += [f"  {c.name}: {c.known_failure}" for c in verdict.known_failures]
    if verdict.fixed:
        lines.append("\nMarked known_failure but passed (remove the mark):")
        lines += [f"  {c.name}" for c in verdict.fixed]
    if verdict.flaky:
        lines.append(f"\nFlaky (passed in some repeats only): {', '.join(verdict.flaky)}")
    if verdict.excluded:
        lines.append(f"\nExcluded from the rates: {', '.join(verdict.excluded)}")
    if verdict.changes:
        lines.append("\nCompared with the previous results:")
        lines += [f"  {c}" for c in verdict.changes]
    lines.append(f"\ngate: {'PASS' if verdict.ok else 'FAIL'}")
    return "\n".join(lines)


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a pass rate is between 0 and 1, not {text}")
    return value


def _threshold(text: str) -> tuple[str, float]:
    tag, sep, rate = text.partition("=")
    if not sep or tag not in {t.value for t in Tag}:
        raise argparse.ArgumentTypeError(
            f"expected TAG=RATE with TAG one of {', '.join(t.value for t in Tag)}, not {text}")
    return tag, _rate(rate)


def load_config(path: Path) -> tuple[dict[str, float], frozenset[str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    thresholds = {str(k): _rate(str(v)) for k, v in (data.get("thresholds") or {}).items()}
    return thresholds, frozenset(data.get("required") or [])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m evals.gate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path)
    parser.add_argument("--threshold", type=_threshold, action="append", default=[],
                        metavar="TAG=RATE", help="minimum pass rate of a tag (repeatable)")
    parser.add_argument("--min-replay", type=_rate, help="same as --threshold replay=R")
    parser.add_argument("--min-red-team", type=_rate, help="same as --threshold red-team=R")
    parser.add_argument("--previous", type=Path, help="an earlier results file to compare")
    parser.add_argument("--config", type=Path, default=CONFIG, help="default thresholds")
    parser.add_argument("--exclude", action="append", default=[], metavar="CASE",
                        help="leave this case out of the rates (repeatable)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    minimums, required = load_config(args.config)
    given = dict(args.threshold)
    for tag, rate in ((Tag.REPLAY.value, args.min_replay),
                      (Tag.RED_TEAM.value, args.min_red_team)):
        if rate is not None:
            given[tag] = rate
    minimums |= given
    loaded = load_for_cli(args.results, args.previous)
    if loaded is None:
        return 2
    results, previous = loaded
    verdict = judge(results, minimums, frozenset(args.exclude), required | set(given),
                    previous)
    print(report(verdict))
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
