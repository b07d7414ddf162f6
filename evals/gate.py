"""The release gate: `python -m evals.gate evals/results/latest.json --min-replay 1.0
--min-red-team 1.0 [--exclude CASE ...]`.

Exits 1 when a tag's pass rate falls under its threshold, 2 when the results cannot be
read, 0 otherwise. Known failures count as failures in the rates (a release with a known
hole is still a release with a hole) but are listed apart from new failures, so a reader
sees at once what regressed. `--exclude` drops named cases from the rates, explicitly and
by name, for CI that must go green while a known failure waits for its fix; excluded
cases are still listed. A tag with a threshold but no cases fails: no data is no pass.
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from .cases import Tag
from .results import CaseResult, RunResults


@dataclass(frozen=True)
class TagRate:
    tag: str
    passed: int
    total: int
    minimum: float

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0

    @property
    def ok(self) -> bool:
        return self.minimum <= 0 or (self.total > 0 and self.rate >= self.minimum)

    def line(self) -> str:
        verdict = "ok" if self.ok else "BELOW THRESHOLD"
        if not self.total:
            return f"{self.tag:<9} no cases (min {self.minimum:.0%}): {verdict}"
        return (f"{self.tag:<9} {self.passed}/{self.total} = {self.rate:.0%} "
                f"(min {self.minimum:.0%}): {verdict}")


@dataclass(frozen=True)
class Verdict:
    rates: list[TagRate]
    new_failures: list[CaseResult]
    known_failures: list[CaseResult]
    fixed: list[CaseResult]  # marked known_failure, but passed
    excluded: list[str]

    @property
    def ok(self) -> bool:
        return all(rate.ok for rate in self.rates)


def judge(results: RunResults, minimums: dict[str, float],
          exclude: frozenset[str] = frozenset()) -> Verdict:
    counted = [c for c in results.cases if c.name not in exclude]
    rates = [TagRate(tag, sum(c.passed for c in counted if tag in c.tags),
                     sum(tag in c.tags for c in counted), minimum)
             for tag, minimum in minimums.items()]
    failed = [c for c in results.cases if not c.passed]
    return Verdict(
        rates=rates,
        new_failures=[c for c in failed if not c.known_failure],
        known_failures=[c for c in failed if c.known_failure],
        fixed=[c for c in results.cases if c.passed and c.known_failure],
        excluded=sorted(exclude & {c.name for c in results.cases}),
    )


def report(verdict: Verdict) -> str:
    lines = [rate.line() for rate in verdict.rates]
    if verdict.new_failures:
        lines.append("\nNEW failures:")
        lines += [f"  {c.name}: {'; '.join(c.reasons)}" for c in verdict.new_failures]
    if verdict.known_failures:
        lines.append("\nKnown failures (counted as failures):")
        lines += [f"  {c.name}: {c.known_failure}" for c in verdict.known_failures]
    if verdict.fixed:
        lines.append("\nMarked known_failure but passed (remove the mark):")
        lines += [f"  {c.name}" for c in verdict.fixed]
    if verdict.excluded:
        lines.append(f"\nExcluded from the rates: {', '.join(verdict.excluded)}")
    lines.append(f"\ngate: {'PASS' if verdict.ok else 'FAIL'}")
    return "\n".join(lines)


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a pass rate is between 0 and 1, not {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.gate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path)
    parser.add_argument("--min-replay", type=_rate, default=1.0)
    parser.add_argument("--min-red-team", type=_rate, default=1.0)
    parser.add_argument("--exclude", action="append", default=[], metavar="CASE",
                        help="leave this case out of the rates (repeatable)")
    args = parser.parse_args(argv)
    try:
        results = RunResults.load(args.results)
    except (OSError, ValueError, ValidationError) as exc:
        print(f"error: cannot read {args.results}: {exc}", file=sys.stderr)
        return 2
    minimums = {Tag.REPLAY.value: args.min_replay, Tag.RED_TEAM.value: args.min_red_team}
    verdict = judge(results, minimums, frozenset(args.exclude))
    print(report(verdict))
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
