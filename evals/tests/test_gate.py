"""The release gate on hand-made results: thresholds per tag, known failures counted but
listed apart, explicit exclusions, no data is no pass, unreadable input exits 2."""

from pathlib import Path

import pytest

from evals import gate
from evals.results import CaseResult, RunResults, table


def result(name: str, tag: str, passed: bool, known: str | None = None) -> CaseResult:
    return CaseResult(name=name, tags=[tag], passed=passed, known_failure=known,
                      reasons=[] if passed else [f"{name} went wrong"], latency_s=0.4)


def save(tmp_path: Path, *cases: CaseResult) -> Path:
    path = tmp_path / "latest.json"
    RunResults(mode="mock", cases=list(cases)).save(path)
    return path


def run_gate(path: Path, *args: str) -> int:
    return gate.main([str(path), *args])


def test_all_passing_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = save(tmp_path, result("a", "replay", True), result("b", "red-team", True))
    assert run_gate(path, "--min-replay", "1.0", "--min-red-team", "1.0") == 0
    out = capsys.readouterr().out
    assert "replay    1/1 = 100% (min 100%): ok" in out and "gate: PASS" in out


def test_a_rate_under_its_threshold_fails(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = save(tmp_path, result("a", "replay", True), result("b", "replay", False),
                result("c", "red-team", True))
    assert run_gate(path, "--min-replay", "1.0") == 1
    out = capsys.readouterr().out
    assert "replay    1/2 = 50% (min 100%): BELOW THRESHOLD" in out
    assert "NEW failures:\n  b: b went wrong" in out
    assert run_gate(path, "--min-replay", "0.5") == 0


def test_known_failures_count_but_are_listed_apart(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = save(tmp_path, result("a", "replay", True),
                result("k", "red-team", False, known="injection not flagged"))
    assert run_gate(path) == 1
    out = capsys.readouterr().out
    assert "red-team  0/1 = 0%" in out
    assert "Known failures (counted as failures):\n  k: injection not flagged" in out
    assert "NEW failures" not in out


def test_excluding_a_case_by_name_leaves_it_listed(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = save(tmp_path, result("a", "replay", True), result("r", "red-team", True),
                result("k", "red-team", False, known="why"))
    assert run_gate(path, "--exclude", "k") == 0
    out = capsys.readouterr().out
    assert "red-team  1/1 = 100%" in out and "Excluded from the rates: k" in out
    assert "  k: why" in out


def test_a_fixed_known_failure_is_pointed_out(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = save(tmp_path, result("a", "replay", True), result("f", "red-team", True, "old"))
    assert run_gate(path) == 0
    assert "Marked known_failure but passed (remove the mark):\n  f" in capsys.readouterr().out


def test_a_tag_without_cases_fails_unless_its_threshold_is_zero(tmp_path: Path) -> None:
    path = save(tmp_path, result("a", "replay", True))
    assert run_gate(path) == 1
    assert run_gate(path, "--min-red-team", "0") == 0


def test_unreadable_results_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_gate(tmp_path / "missing.json") == 2
    bad = tmp_path / "bad.json"
    bad.write_text('{"mode": "mock", "cases": [{"name": 1}]}')
    assert run_gate(bad) == 2
    assert "cannot read" in capsys.readouterr().err


def test_thresholds_must_be_rates(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        run_gate(save(tmp_path, result("a", "replay", True)), "--min-replay", "95")


def test_the_table_shows_verdicts_latency_and_reasons() -> None:
    results = RunResults(mode="mock", duration_s=3.2, cases=[
        result("good", "replay", True), result("bad", "replay", False),
        result("known", "red-team", False, known="cause")])
    text = table(results)
    assert "good" in text and "PASS" in text and "0.40s" in text
    assert "bad went wrong" in text and "KNOWN-FAIL" in text and "[known: cause]" in text
    assert "1/3 passed in 3.2s (mock mode)" in text
