"""The steady load: signed `app_mention` events posted to the ingress on loopback at a fixed
rate, as Slack sends them. A request that is not answered 200 is sent again with the same
event id (Slack retries too, marking the retry), a bounded number of times; what the
ingress finally answered is recorded, since only an acknowledged event is owed a reply."""

import threading
import time
from dataclasses import dataclass

import httpx
from triage_contracts.ids import stable_id

from ..slack_events import app_mention, event_body, signed_headers

READ_QUESTION = "what changed in payments-api recently?"
# Proposes a comment on the incident issue: approved by `Approver`, written once.
WRITE_QUESTION = "why is checkout-api failing?"
CHANNEL, REQUESTER = "C_TRIAGE", "U_REQUESTER"


@dataclass
class Sent:
    index: int
    event_id: str
    run_id: str
    thread_ts: str
    writes: bool
    at: float  # wall clock of the first attempt
    status: int = 0  # the last answer (0: none, the ingress was unreachable)
    tries: int = 0

    @property
    def acked(self) -> bool:
        return self.status == 200


@dataclass
class LoadPlan:
    ingress_url: str
    signing_secret: str
    team: str
    runs: int  # at least this many
    rate: float  # events per second
    write_every: int = 10  # every n-th question asks for a write (0: none)
    # Slack retries a delivery three times, further apart each time (about 1, 5 and 30
    # minutes); compressed here to 2, 4 and 8 s: 14 s of patience, longer than a JetStream
    # leader election on a loaded machine (a fixed 2 s twice gave up after 4 s).
    retries: int = 3
    retry_after_s: float = 2.0


class Load:
    def __init__(self, plan: LoadPlan) -> None:
        self.plan = plan
        self.sent: list[Sent] = []
        self.done = threading.Event()

    def run(self, until: threading.Event) -> None:
        """Post at least `runs` events, one every 1/rate seconds, and go on until `until`
        is set (the last fault has ended: every fault meets a load, however long restarts
        take). The pace does not slow while the ingress is down: retries happen beside it,
        as Slack's do."""
        start = time.monotonic()
        workers: list[threading.Thread] = []
        with httpx.Client(timeout=10) as http:
            index = 0
            while index < self.plan.runs or not until.is_set():
                delay = start + index / self.plan.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                worker = threading.Thread(target=self._send, args=(http, index), daemon=True)
                worker.start()
                workers.append(worker)
                index += 1
            for worker in workers:
                worker.join(timeout=60)
        self.done.set()

    def _send(self, http: httpx.Client, index: int) -> None:
        writes = self.plan.write_every > 0 and index % self.plan.write_every == 0
        text = WRITE_QUESTION if writes else READ_QUESTION
        payload = app_mention(self.plan.team, CHANNEL, REQUESTER, text)
        event_id = str(payload["event_id"])
        sent = Sent(index, event_id, stable_id("run-", self.plan.team, event_id),
                    str(payload["event"]["ts"]), writes, time.time())  # type: ignore[index]
        self.sent.append(sent)
        body = event_body(payload)
        for attempt in range(self.plan.retries + 1):
            sent.tries, sent.status = attempt + 1, self._post(http, body, attempt)
            if sent.acked:
                return
            if attempt < self.plan.retries:
                time.sleep(self.plan.retry_after_s * 2 ** attempt)

    def _post(self, http: httpx.Client, body: bytes, attempt: int) -> int:
        headers = signed_headers(self.plan.signing_secret, body, "application/json")
        if attempt:
            headers |= {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "http_error"}
        try:
            return http.post(f"{self.plan.ingress_url}/slack/events", content=body,
                             headers=headers).status_code
        except httpx.HTTPError:
            return 0
