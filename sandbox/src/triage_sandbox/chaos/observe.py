"""What the chaos page shows, read from outside the services: each child process's state,
the streams and durable consumers from the embedded NATS server's monitor port (read-only,
no credentials), and where recent runs are, from the audit service's API."""

from collections import OrderedDict
from typing import Any

import httpx

from ..stack import Stack

RECENT_RUNS = 12
NATS = "nats"  # the embedded JetStream server's row (not a process of the plan)
TIMEOUT = 2.0


def processes(stack: Stack) -> list[dict[str, Any]]:
    out = [_nats(stack)] if stack.nats is not None else []
    for proc in stack.plan.processes:
        child = stack.children.get(proc.name)
        row: dict[str, Any] = {"name": proc.name, "url": proc.url, "pid": None, "ready": False}
        if child is None:
            row["state"] = "killed"
        elif child.poll() is not None:
            row["state"] = f"exited ({child.returncode})"
        else:
            row.update(state="running", pid=child.pid, ready=stack.is_ready(proc.name))
        out.append(row)
    return out


def _nats(stack: Stack) -> dict[str, Any]:
    server = stack.nats
    assert server is not None
    alive = stack.nats_running()
    return {"name": NATS, "url": server.url, "state": "running" if alive else "killed",
            "pid": server.process.pid if alive and server.process else None, "ready": alive}


def jetstream(monitor_port: int | None) -> list[dict[str, Any]]:
    """Streams with their message counts and each durable consumer's backlog: `pending` not
    yet delivered, `ack_pending` delivered but not acknowledged (a worker died holding it)."""
    if monitor_port is None:
        return []  # an outside NATS: its monitor is not ours to read
    url = f"http://127.0.0.1:{monitor_port}/jsz?accounts=true&streams=true&consumers=true"
    data = httpx.get(url, timeout=TIMEOUT).json()
    streams = [stream for account in data.get("account_details") or []
               for stream in account.get("stream_detail") or []]
    return sorted(({"name": s["name"], "messages": s["state"]["messages"],
                    "consumers": [_consumer(c) for c in s.get("consumer_detail") or []]}
                   for s in streams), key=lambda s: s["name"])


def _consumer(detail: dict[str, Any]) -> dict[str, Any]:
    return {"name": detail["name"], "pending": detail.get("num_pending", 0),
            "ack_pending": detail.get("num_ack_pending", 0),
            "redelivered": detail.get("num_redelivered", 0)}


class RunFeed:
    """The newest audit event of each recent run: where the run is. Reads only the events
    added since the last poll (a cursor per team), so polling every second stays cheap."""

    def __init__(self, audit_url: str) -> None:
        self.audit_url = audit_url
        self.after: dict[str, int] = {}
        self.runs: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()

    def poll(self) -> list[dict[str, Any]]:
        teams = self._get("/audit/teams")["teams"]
        for team in (t["team_id"] for t in teams):
            self._read_team(team)
        return list(reversed(self.runs.values()))

    def _read_team(self, team: str) -> None:
        params = {"after_seq": self.after.get(team, 0), "limit": 1000}
        for event in self._get(f"/audit/{team}/events", params)["events"]:
            self.after[team] = event["seq"]
            if event.get("run_id"):
                self._note(team, event)

    def _note(self, team: str, event: dict[str, Any]) -> None:
        key = (team, event["run_id"])
        seen = self.runs.pop(key, {"events": 0})
        self.runs[key] = {"team_id": team, "run_id": event["run_id"],
                          "service": event["service"], "kind": event["kind"],
                          "action": event["action"], "outcome": event["outcome"],
                          "at": event["created_at"], "events": seen["events"] + 1}
        while len(self.runs) > RECENT_RUNS:
            self.runs.popitem(last=False)

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        resp = httpx.get(self.audit_url + path, params=params, timeout=TIMEOUT)
        resp.raise_for_status()
        return resp.json()
