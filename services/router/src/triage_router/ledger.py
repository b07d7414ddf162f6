"""A team's model spend for one UTC day, as one value: what was spent, and what is held for
calls in flight. Pure: every operation maps a ledger to a new ledger plus what happened;
`budget.py` writes the result with compare-and-set, so each operation is atomic.

Invariant: an operation that adds to the day (`reserve`) only succeeds when
spent + held + the new hold <= limit. Every other operation moves money from held to spent
for no more than was held, or releases it, so the sum never grows past the limit (unless a
vendor bills more than the worst case `cost.py` bounds, which is then recorded as it is).

A hold belongs to one slot (`<run>:<step>`, the call) and one attempt (one delivery's try):
- reserve: a hold of the same attempt is resized (the next target in the route); a hold left
  by another attempt of the same call (a crashed or still running delivery) may already have
  been billed by the vendor, so it is charged at its worst case before this attempt holds.
- settle: the attempt's hold becomes its actual cost. Without its hold (taken over or
  expired) the cost is added anyway: a spend is never left unrecorded. `settle_stored`
  (replaying a stored answer) settles only the hold of the attempt that stored it.
- release: the attempt's hold is dropped (nothing was billed: errors, refusals).
- holds older than their `until` (a crashed router that no delivery came back for) expire.
"""

import json
from dataclasses import dataclass, field, replace
from typing import Any

EPSILON_USD = 1e-9  # float sums of 8-decimal costs


@dataclass(frozen=True)
class Hold:
    usd: float
    attempt: str
    until: float  # epoch seconds


@dataclass(frozen=True)
class DayLedger:
    spent: float = 0.0
    holds: dict[str, Hold] = field(default_factory=dict)

    @property
    def held(self) -> float:
        return sum(h.usd for h in self.holds.values())

    def encode(self) -> bytes:
        holds = {slot: {"usd": h.usd, "attempt": h.attempt, "until": round(h.until, 3)}
                 for slot, h in sorted(self.holds.items())}
        return json.dumps({"cost_usd": round(self.spent, 8), "holds": holds}).encode()

    @classmethod
    def decode(cls, value: bytes | None) -> "DayLedger":
        raw: dict[str, Any] = json.loads(value or b"{}")  # {"cost_usd": x} before holds
        holds = {slot: Hold(float(h["usd"]), str(h["attempt"]), float(h["until"]))
                 for slot, h in raw.get("holds", {}).items()}
        return cls(float(raw.get("cost_usd", 0.0)), holds)


@dataclass(frozen=True)
class Change:
    """What an operation did, beyond the new ledger."""

    ok: bool = True
    charged_usd: float = 0.0  # another attempt's hold charged at its worst case
    expired: tuple[str, ...] = ()


def expire(ledger: DayLedger, now: float) -> tuple[DayLedger, tuple[str, ...]]:
    gone = tuple(slot for slot, hold in ledger.holds.items() if hold.until <= now)
    if not gone:
        return ledger, ()
    kept = {slot: hold for slot, hold in ledger.holds.items() if slot not in gone}
    return replace(ledger, holds=kept), gone


def take_over(ledger: DayLedger, slot: str, attempt: str,
              now: float) -> tuple[DayLedger, Change]:
    """Charge a hold another attempt left on this slot (it may have been billed)."""
    ledger, expired = expire(ledger, now)
    previous = ledger.holds.get(slot)
    if previous is None or previous.attempt == attempt:
        return ledger, Change(expired=expired)
    holds = {s: h for s, h in ledger.holds.items() if s != slot}
    charged = DayLedger(round(ledger.spent + previous.usd, 8), holds)
    return charged, Change(charged_usd=previous.usd, expired=expired)


def reserve(ledger: DayLedger, slot: str, hold: Hold, limit: float,
            now: float) -> tuple[DayLedger, Change]:
    ledger, change = take_over(ledger, slot, hold.attempt, now)
    others = {s: h for s, h in ledger.holds.items() if s != slot}  # own hold is resized
    fits = ledger.spent + sum(h.usd for h in others.values()) + hold.usd <= limit + EPSILON_USD
    holds = others | {slot: hold} if fits else others
    return replace(ledger, holds=holds), replace(change, ok=fits)


def settle(ledger: DayLedger, slot: str, attempt: str, cost: float,
           now: float) -> tuple[DayLedger, Change]:
    ledger, expired = expire(ledger, now)
    holds = dict(ledger.holds)
    if slot in holds and holds[slot].attempt == attempt:
        del holds[slot]
    return DayLedger(round(ledger.spent + cost, 8), holds), Change(expired=expired)


def settle_stored(ledger: DayLedger, slot: str, attempt: str, cost: float,
                  now: float) -> tuple[DayLedger, Change]:
    hold = ledger.holds.get(slot)
    if hold is None or hold.attempt != attempt:
        return ledger, Change(ok=False)  # settled before the crash (or expired)
    return settle(ledger, slot, attempt, cost, now)


def release(ledger: DayLedger, slot: str, attempt: str,
            now: float) -> tuple[DayLedger, Change]:
    ledger, expired = expire(ledger, now)
    hold = ledger.holds.get(slot)
    if hold is None or hold.attempt != attempt:
        return ledger, Change(ok=False, expired=expired)
    holds = {s: h for s, h in ledger.holds.items() if s != slot}
    return replace(ledger, holds=holds), Change(expired=expired)
