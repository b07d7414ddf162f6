"""The results file (`evals/results/latest.json`): what the runner writes and the gate
reads. One model for both, so the gate never guesses at the runner's format."""

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from triage_contracts.ids import utcnow

DEFAULT_PATH = Path(__file__).parent / "results" / "latest.json"


class CaseResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    tags: list[str]
    passed: bool
    reasons: list[str] = Field(default_factory=list)
    known_failure: str | None = None
    latency_s: float | None = None
    run_id: str | None = None
    status: str | None = None
    skill: str | None = None

    @property
    def verdict(self) -> str:
        if self.passed:
            # A known failure that passes: the fix landed, the mark should go.
            return "PASS*" if self.known_failure else "PASS"
        return "KNOWN-FAIL" if self.known_failure else "FAIL"


class RunResults(BaseModel):
    model_config = ConfigDict(extra="forbid")

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


def table(results: RunResults) -> str:
    """A plain-text table: case, verdict, latency, reasons (one line each)."""
    width = max([len(c.name) for c in results.cases] + [4])
    lines = [f"{'case':<{width}}  {'result':<10}  {'latency':>8}  reasons",
             f"{'-' * width}  {'-' * 10}  {'-' * 8}  {'-' * 40}"]
    for case in results.cases:
        latency = f"{case.latency_s:.2f}s" if case.latency_s is not None else "-"
        why = list(case.reasons)
        if case.known_failure:
            why.insert(0, f"[known: {case.known_failure}]")
        first, *rest = why or [""]
        lines.append(f"{case.name:<{width}}  {case.verdict:<10}  {latency:>8}  {first}")
        lines += [f"{'':<{width}}  {'':<10}  {'':>8}  {reason}" for reason in rest]
    passed = sum(c.passed for c in results.cases)
    lines.append(f"\n{passed}/{len(results.cases)} passed in {results.duration_s:.1f}s "
                 f"({results.mode} mode)")
    return "\n".join(lines)
