"""Telling the asker that the question waits: right after a fresh request is published,
the orchestrator's request consumer is asked how much lies ahead of it, and at or above a
threshold the thread's status says "Queued behind N questions — I'll answer here as soon
as I get to it".

It goes out as an ordinary run status (`triage.work.notify.<team>.status`), so the notifier
shows it as the assistant status or the run's placeholder, paced like every other status,
and the run's first progress status replaces it when the orchestrator starts.

Cheap under a burst: the consumer's lag is read at most once a second (`LagReader`), and
requests published by this process since that reading are added to it, so a burst still
counts up without an API call per event. Best effort: a reading that fails shows nothing.
"""

from faststream.nats import NatsBroker
from triage_contracts import subjects
from triage_contracts.bus import publish
from triage_contracts.errors import TemporaryError
from triage_contracts.lag import Lag, LagReader
from triage_contracts.logs import get_logger
from triage_contracts.messages import NotifyKind, NotifyRequest, TriageRequest
from triage_contracts.streams import Consumers, ConsumerSpec

log = get_logger("triage.ingress.queued")
STEP = "queued-status"


def text(ahead: int) -> str:
    questions = "question" if ahead == 1 else "questions"
    return f"Queued behind {ahead} {questions} — I'll answer here as soon as I get to it"


def consumer(team_scope: str | None) -> ConsumerSpec:
    """The durable the orchestrator drains requests from (its team's, in a scoped release)."""
    spec = Consumers.ORCHESTRATOR_EVENTS
    return spec.for_team(team_scope) if team_scope else spec


class QueuedNotice:
    def __init__(self, broker: NatsBroker, threshold: int, team_scope: str | None,
                 timeout: float = 1.0) -> None:
        self.broker, self.threshold = broker, threshold
        self.consumer = consumer(team_scope)
        self.reader = LagReader(broker, ttl=1.0, timeout=timeout)
        self._reading: Lag | None = None
        self._since = 0  # requests published here after that reading was taken

    async def ahead_of(self) -> int:
        """Questions ahead of the one just published (waiting or being worked on)."""
        reading = await self.reader.lag(self.consumer.stream, self.consumer.durable)
        if reading is not self._reading:
            self._reading, self._since = reading, 0
        else:
            self._since += 1
        return max(reading.total - 1 + self._since, 0)

    async def tell(self, req: TriageRequest) -> None:
        if not req.thread_ts:  # a status lives in a thread (slash commands have none)
            return
        try:
            ahead = await self.ahead_of()
            if ahead >= self.threshold:
                await self._show(req, ahead)
        except TemporaryError as exc:  # the request is queued all the same: no retry
            log.debug("queued notice not sent", error=str(exc))

    async def _show(self, req: TriageRequest, ahead: int) -> None:
        status = NotifyRequest(
            team_id=req.team_id, enterprise_id=req.enterprise_id, run_id=req.run_id,
            step_id=STEP, notify_kind=NotifyKind.STATUS, channel_id=req.channel_id,
            thread_ts=req.thread_ts, text=text(ahead))
        await publish(self.broker, status,
                      subjects.work("notify", req.team_id, NotifyKind.STATUS.value),
                      msg_id=f"{req.run_id}:{STEP}:cmd")
        log.info("asker told the question is queued", ahead=ahead)
