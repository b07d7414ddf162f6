"""1,000 random tamper trials per backend (SQLite, PostgreSQL), each followed by a full
verify, all detected; the trial code is the benchmark script's, so the figures in
docs/security-audit.md come from the same trials (benchmarks/tamper_trials.py)."""

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

import pytest
from triage_audit.verify_log import read_trust, verify_log

TRIALS = 1000
SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "tamper_trials.py"


def trials_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_tamper_trials", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.tamper_trials
@pytest.mark.timeout(300)
def test_every_tampering_is_detected(database_url: str, tmp_path: Path) -> None:
    trials = trials_module()
    log = trials.prepare(database_url, tmp_path)
    trust = read_trust([log.sink], log.public_keys)
    assert verify_log(log.store.engine, trust).ok  # the untampered log passes
    seed = random.randrange(2**32)
    tally = trials.run_trials(log, database_url.split(":")[0], TRIALS, seed)
    log.store.dispose()
    assert tally.total == TRIALS and set(tally.trials) == set(trials.KINDS)
    assert tally.missed == [], f"seed {seed}: undetected {tally.missed[:5]}"
    assert tally.total_detected == TRIALS


def test_tampering_inside_the_exposure_window_is_not_detected(
    database_url: str, tmp_path: Path
) -> None:
    """The documented limit: events after the last checkpoint can be cut off (head made to
    agree) without a trace until the next batch would have signed them."""
    trials = trials_module()
    log = trials.prepare(database_url, tmp_path)
    with log.store.engine.begin() as conn:
        conn.exec_driver_sql(
            f"DELETE FROM audit_events WHERE team_id = 'TA' AND seq > {trials.ANCHORED}")
        conn.exec_driver_sql(
            "UPDATE audit_heads SET seq = 30, hash = (SELECT hash FROM audit_events "
            f"WHERE team_id = 'TA' AND seq = {trials.ANCHORED}) WHERE team_id = 'TA'")
    report = verify_log(log.store.engine, read_trust([log.sink], log.public_keys))
    log.store.dispose()
    assert report.ok and report.teams[0].count == trials.ANCHORED
