"""The day ledger as pure functions: holds, charges, settles, expiry, the stored format."""

import pytest
from triage_router import ledger
from triage_router.ledger import DayLedger, Hold

LIMIT = 1.0
NOW = 1_000.0


def hold(usd: float, attempt: str = "a1", until: float = NOW + 600) -> Hold:
    return Hold(usd, attempt, until)


def test_a_hold_is_made_only_when_it_fits_with_what_is_spent_and_held() -> None:
    day = DayLedger(spent=0.3, holds={"r1:s": hold(0.4, "x")})
    day, change = ledger.reserve(day, "r2:s", hold(0.3), LIMIT, NOW)
    assert change.ok and day.spent + day.held == pytest.approx(1.0)
    refused, change = ledger.reserve(day, "r3:s", hold(0.01), LIMIT, NOW)
    assert not change.ok and refused == day


def test_the_same_attempt_resizes_its_hold_for_the_next_target() -> None:
    day, _ = ledger.reserve(DayLedger(), "r1:s", hold(0.9), LIMIT, NOW)
    day, change = ledger.reserve(day, "r1:s", hold(0.2), LIMIT, NOW)
    assert change.ok and day.holds["r1:s"].usd == 0.2 and change.charged_usd == 0
    # A target that does not fit drops the attempt's hold rather than keeping the old one.
    day, change = ledger.reserve(day, "r1:s", hold(1.5), LIMIT, NOW)
    assert not change.ok and day.holds == {}


def test_a_hold_left_by_another_delivery_is_charged_at_its_worst_case() -> None:
    day = DayLedger(spent=0.1, holds={"r1:s": hold(0.5, "crashed")})
    day, change = ledger.reserve(day, "r1:s", hold(0.3, "next"), LIMIT, NOW)
    assert change.ok and change.charged_usd == 0.5
    assert day.spent == pytest.approx(0.6) and day.holds["r1:s"].attempt == "next"
    day, change = ledger.take_over(day, "r1:s", "next", NOW)  # its own hold: nothing to do
    assert change.charged_usd == 0 and "r1:s" in day.holds


def test_settling_twice_never_bills_twice_and_never_loses_a_spend() -> None:
    day, _ = ledger.reserve(DayLedger(), "r1:s", hold(0.5), LIMIT, NOW)
    day, _ = ledger.settle_stored(day, "r1:s", "a1", 0.2, NOW)
    assert day == DayLedger(spent=0.2)
    again, change = ledger.settle_stored(day, "r1:s", "a1", 0.2, NOW)  # the replay
    assert again == day and not change.ok
    # An attempt whose hold is gone (expired, or charged by a takeover) still records.
    day, _ = ledger.settle(day, "r2:s", "a2", 0.3, NOW)
    assert day.spent == pytest.approx(0.5)


def test_a_release_frees_only_the_attempts_own_hold() -> None:
    day = DayLedger(holds={"r1:s": hold(0.5, "other")})
    same, change = ledger.release(day, "r1:s", "a1", NOW)
    assert same == day and not change.ok
    day, change = ledger.release(day, "r1:s", "other", NOW)
    assert day == DayLedger() and change.ok


def test_holds_of_a_crashed_router_expire() -> None:
    day = DayLedger(holds={"old:s": hold(0.9, "x", until=NOW - 1), "new:s": hold(0.1, "y")})
    day, change = ledger.reserve(day, "r1:s", hold(0.8), LIMIT, NOW)
    assert change.ok and change.expired == ("old:s",) and set(day.holds) == {"new:s", "r1:s"}


def test_the_stored_form_round_trips_and_reads_the_old_one() -> None:
    day = DayLedger(spent=0.25, holds={"r1:s": hold(0.5)})
    assert DayLedger.decode(day.encode()) == day
    assert DayLedger.decode(b'{"cost_usd": 0.8}') == DayLedger(spent=0.8)
    assert DayLedger.decode(None) == DayLedger()
