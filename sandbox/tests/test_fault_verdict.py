"""The fault suite's verdict from plain records: what counts as stuck, duplicated,
unwritten or unaudited, and which runs a fault affected and how long they took after it."""

from typing import Any

from triage_sandbox.faults.load import Sent
from triage_sandbox.faults.schedule import Fault
from triage_sandbox.faults.verdict import Records, judge


def sent(index: int, at: float, status: int = 200, writes: bool = False) -> Sent:
    return Sent(index, f"Ev{index}", f"run-{index}", f"{at:.6f}", writes, at, status, 1)


def reply(thread_at: float, at: float, text: str = "answer") -> dict[str, Any]:
    return {"thread_ts": f"{thread_at:.6f}", "ts": f"{at:.6f}", "text": text, "blocks": []}


def comment(run: str) -> dict[str, Any]:
    return {"body": f"Rolling back\n\n<!-- triage:{run}:act-c0 -->"}


def fault(began: float, ended: float) -> Fault:
    return Fault("SIGKILL tools", 0, 0, lambda: "tools", lambda: None, "tools", began, ended)


def records(**changes: Any) -> Records:
    base: dict[str, Any] = dict(
        sent=[sent(0, 100.0), sent(1, 110.0), sent(2, 120.0, status=503)],
        messages=[reply(100.0, 103.0), reply(110.0, 140.0)],
        comments=[], approved_runs=set(), audit_ok=True,
        audited_runs={"run-0", "run-1"}, faults=[fault(105.0, 130.0)])
    return Records(**(base | changes))


def test_all_answered_once_holds_and_the_fault_recovery_is_measured() -> None:
    verdict = judge(records())
    assert verdict.held
    assert (verdict.acked, verdict.unacked, verdict.answered) == (2, 1, 2)
    row = verdict.faults[0]
    # run-1 was asked during the fault; run-0 was answered before it began.
    assert (row.affected, row.answered, row.recovery_s) == (1, 1, 10.0)
    assert verdict.median_reply_s == 16.5


def test_a_run_in_flight_when_the_fault_began_is_affected() -> None:
    verdict = judge(records(messages=[reply(100.0, 135.0), reply(110.0, 140.0)]))
    assert (verdict.faults[0].affected, verdict.faults[0].recovery_s) == (2, 10.0)


def test_stuck_duplicated_and_unaudited_runs_break_the_invariants() -> None:
    verdict = judge(records(messages=[reply(100.0, 103.0), reply(100.0, 104.0)],
                            audited_runs={"run-0"}, audit_ok=False))
    assert verdict.stuck == ["run-1"] and verdict.duplicate_replies == 1
    assert verdict.unaudited == ["run-1"] and not verdict.audit_ok
    assert verdict.faults[0].recovery_s is None  # run-1 never answered
    assert [ok for _, _, ok in verdict.invariants] == [False, False, True, True, False, False]


def test_writes_are_counted_by_marker_against_the_approvals() -> None:
    verdict = judge(records(comments=[comment("run-0"), comment("run-0"), comment("run-9")],
                            approved_runs={"run-0", "run-1"}))
    assert verdict.duplicate_writes == 1
    assert (verdict.missing_writes, verdict.unapproved_writes) == (1, 1)
    assert not verdict.held


def test_a_run_that_told_the_asker_it_failed_is_not_stuck_but_counted_apart() -> None:
    told = "I could not finish the investigation: timed out after 300s waiting for tools."
    verdict = judge(records(messages=[reply(100.0, 103.0), reply(110.0, 140.0, told)]))
    assert verdict.held and not verdict.stuck
    assert (verdict.answered, verdict.failed_with_message) == (1, ["run-1"])
    row = verdict.faults[0]
    assert (row.affected, row.answered, row.failed_with_message) == (1, 1, 1)
    assert "1 answered, 1 failed with a message, 0 stuck" in verdict.invariants[0][1]
