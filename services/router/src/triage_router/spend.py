"""The money side of one delivery of one ModelCall: the fallback's `Gate`.

Before each target: its worst case (`cost.py`) must fit the call's own cap (`max_cost_usd`,
what is left of the run's dollars) and be held in the team's day (`budget.py`); a target
that does not fit is skipped, so a cheaper one later in the route may answer. After: the
answer's actual cost settles the hold, a lost answer is charged at the hold, and a call
that ends without an answer releases it. A crash leaves the hold in place; the next delivery
of the call charges it (`begin`), since the vendor may have billed it.
"""

from triage_contracts.logs import get_logger
from triage_contracts.messages import ModelCall

from .budget import TeamBudget
from .cost import worst_case_usd
from .fallback import Outcome
from .ledger import EPSILON_USD
from .routes import Target

log = get_logger("triage.router.spend")

class CallSpend:
    def __init__(self, call: ModelCall, budget: TeamBudget, attempt: str,
                 limit_usd: float | None = None) -> None:
        self.call = call
        self.budget = budget
        # The team's daily limit (its Workspace's budgetUsdPerDay), else the router's.
        self.limit_usd = budget.limit_usd if limit_usd is None else limit_usd
        self.attempt = attempt
        self.slot = slot_of(call)
        self.key = budget.key(call.team_id)  # the day this delivery started in
        self.held = 0.0
        self.charged = 0.0  # charged without an answer: lost answers, crashed deliveries

    async def begin(self) -> None:
        """Charge what an earlier delivery of this call left held (it crashed mid-call)."""
        for key in self.budget.recent_keys(self.call.team_id):
            change = await self.budget.take_over(key, self.slot, self.attempt)
            self.charged += change.charged_usd

    async def admit(self, target: Target) -> tuple[Outcome, str] | None:
        worst = worst_case_usd(self.call, target)
        cap = self.call.max_cost_usd
        if cap is not None and worst > cap + EPSILON_USD:
            return Outcome.RUN_BUDGET, (f"worst case {usd(worst)} exceeds this call's cap "
                                        f"of {usd(cap)}")
        if worst <= 0:
            await self.release()  # a free target needs no hold
            return None
        change = await self.budget.reserve(self.key, self.slot, self.attempt, worst,
                                           self.limit_usd)
        self.charged += change.charged_usd
        self.held = worst if change.ok else 0.0
        if not change.ok:
            return Outcome.TEAM_BUDGET, (f"worst case {usd(worst)} does not fit in what is "
                                         f"left of the team's daily model budget of "
                                         f"{usd(self.limit_usd)}")
        return None

    async def lost(self) -> float:
        charge, self.held = self.held, 0.0
        if charge > 0:
            await self.budget.settle(self.key, self.slot, self.attempt, charge)
        self.charged += charge
        return charge

    async def settle(self, cost: float) -> None:
        if cost > self.held + EPSILON_USD:
            # The bound in cost.py failed (a vendor billing past max_tokens?): the actual
            # cost is recorded all the same, and the day may end above its limit.
            log.error("a call cost more than its worst case", cost_usd=cost, held_usd=self.held)
        if self.held > 0 or cost > 0:
            await self.budget.settle(self.key, self.slot, self.attempt, cost)
        self.held = 0.0

    async def release(self) -> None:
        if self.held > 0:
            await self.budget.release(self.key, self.slot, self.attempt)
        self.held = 0.0


def slot_of(call: ModelCall) -> str:
    return f"{call.run_id}:{call.step_id}"


def usd(amount: float) -> str:
    """Cents when they say it all, else enough digits to tell two small amounts apart."""
    return f"${amount:.2f}" if round(amount, 2) == amount else f"${amount:.6g}"
