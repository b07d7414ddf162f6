"""An approver at work beside the load: every pending approval is approved as a sandbox
approver through the approval service's own API (the dev identity, as the page does), so
runs that propose a write go on to write. What it approved is recorded by run: each such
run is owed exactly one comment at the GitHub stand-in. A decision whose answer was lost
(the approval service killed mid-request) may still have been made: it is asked again
until the service says what became of it, or the write would count as unapproved."""

import threading

import httpx

from ..approval_session import DevSession, NotInSandbox

APPROVER = "U_APPROVER"


class Approver:
    def __init__(self, approval_url: str, interval_s: float = 1.0) -> None:
        self.approval_url = approval_url
        self.interval_s = interval_s
        self.approved_runs: set[str] = set()
        self.unsure: dict[str, str] = {}  # approval id -> run id: decided, answer lost
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.interval_s):
            try:
                self._approve_pending()
            except (httpx.HTTPError, NotInSandbox):
                continue  # the approval service is down or starting (a fault): later

    def _approve_pending(self) -> None:
        with DevSession(self.approval_url, APPROVER) as session:
            for approval_id, run_id in list(self.unsure.items()):
                resp = session.get(approval_id)
                if resp.status_code == 200 and resp.json().get("status") != "pending":
                    if resp.json().get("status") == "approved":
                        self.approved_runs.add(run_id)
                    del self.unsure[approval_id]
            for item in session.approvals("pending"):
                approval_id, run_id = str(item["approval_id"]), str(item["run_id"])
                self.unsure[approval_id] = run_id  # until its answer is read
                resp = session.decide(approval_id, "approve")
                # 409: decided already (an earlier pass whose answer was lost).
                if resp.status_code in (200, 409):
                    self.approved_runs.add(run_id)
                    del self.unsure[approval_id]
