"""The reduced fault suite: the stack on a 3-node JetStream cluster (R3, fsync before ack)
under a steady load of signed mentions, while the node leading the WORK stream, the tools
service and the notifier are each SIGKILLed and restarted. Judged from the stand-ins'
records and the audit chain only: every acknowledged event answered once, no duplicate
GitHub write, every approved write landed, the chain verifies and holds every run."""

from pathlib import Path

import pytest
from triage_sandbox.faults.report import render
from triage_sandbox.faults.runner import Suite, run_suite
from triage_sandbox.faults.schedules import REDUCED, spread

RUNS, RATE = 20, 0.5  # at least: the load goes on until the last fault ends


@pytest.mark.slow
@pytest.mark.timeout(330)
def test_reduced_fault_schedule_keeps_every_invariant(tmp_path: Path) -> None:
    suite = Suite(runs=RUNS, rate=RATE, replicas=1, write_every=6, drain_s=90,
                  schedule=spread(REDUCED, RUNS / RATE))
    with (tmp_path / "stack.log").open("w") as out:
        verdict = run_suite(suite, tmp_path / "data", out)
    table = render(verdict, [f"stack logs: {tmp_path / 'stack.log'}"])
    print(table)
    assert [f.error for f in verdict.faults] == ["", "", ""], table
    assert "leader of WORK" in verdict.faults[0].target, table
    assert verdict.acked >= RUNS, table  # the load got through
    assert all(f.affected > 0 for f in verdict.faults), table
    assert verdict.held, table
