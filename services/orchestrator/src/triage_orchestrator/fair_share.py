"""Per-team fair share: one workspace's burst must not starve the others.

All teams' requests come through one durable consumer (`orchestrator-events`) in arrival
order, and a started run holds tool, model and notify work in the shared queues until it
ends. So a team may have at most `cap` runs going at once in this replica; a request
beyond that is put back (a nak with a short delay) instead of started, and the requests
behind it (other teams') start meanwhile. JetStream offers no per-subject
`max_ack_pending` to do this in the consumer itself.

Runs are counted when this replica starts them and forgotten when this replica sees them
end; a run that ended on another replica is noticed by re-reading the team's counted runs,
at most once per `recheck_s`, when the team is at its cap. The cap is per replica: with R
replicas a team may have R × cap runs going.
"""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Ended = Callable[[str, str], Awaitable[bool]]  # (team, run id) -> the run is over


class OverShare(Exception):
    """The team already has its share of runs going: this request waits its turn (put back
    with `delay`; not an error, so never counted or dead-lettered as one)."""

    def __init__(self, team: str, cap: int, delay: float) -> None:
        super().__init__(f"team {team} has {cap} runs going (its share): request deferred")
        self.delay = delay


@dataclass
class FairShare:
    cap: int
    retry_s: float = 1.0
    recheck_s: float = 1.0
    active: dict[str, set[str]] = field(default_factory=dict)
    _checked: dict[str, float] = field(default_factory=dict)

    async def admit(self, team: str, run_id: str, exists: Callable[[], Awaitable[bool]],
                    ended: Ended) -> None:
        """Count `run_id` as going, or raise OverShare. `exists`: the run was started
        already (a redelivery, maybe by another replica), which is never deferred."""
        runs = self.active.setdefault(team, set())
        if run_id in runs or len(runs) < self.cap:
            runs.add(run_id)
            return
        if await exists():
            return
        await self._forget_ended(team, ended)
        if len(runs) >= self.cap:
            raise OverShare(team, self.cap, self.retry_s)
        runs.add(run_id)

    def ended(self, team: str, run_id: str) -> None:
        self.active.get(team, set()).discard(run_id)

    async def _forget_ended(self, team: str, ended: Ended) -> None:
        now = time.monotonic()
        if now - self._checked.get(team, 0.0) < self.recheck_s:
            return
        self._checked[team] = now
        for run_id in list(self.active[team]):
            if await ended(team, run_id):
                self.ended(team, run_id)
