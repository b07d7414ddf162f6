"""A "Not helpful" click under a real answer becomes an eval candidate: the offline stack
answers a question, a person clicks the rating button on the posted answer (through the
sandbox channel page, signed as Slack would send it), the ingress audits the rating with
the run, and `python -m evals.feedback` turns it into a case folder that loads."""

import time
from pathlib import Path
from typing import Any

import httpx
from triage_sandbox.stack import Stack

from evals import feedback
from evals.cases import load_case, load_cases
from evals.target import from_stack, send

ROOT = Path(__file__).resolve().parents[2]


def _eventually(check: Any, within: float = 90.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"condition not met within {within}s")


def test_a_not_helpful_rating_is_exported_as_a_case_candidate(offline_stack: Stack,
                                                               tmp_path: Path) -> None:
    target = from_stack(offline_stack)
    case = load_cases(ROOT / "evals" / "cases", names=["change-payments-api"])[0]
    sent = send(target, case)
    slack = target.url("slack")

    def answer() -> dict[str, Any] | None:
        found = httpx.get(f"{slack}/sandbox/messages", params={"channel": sent.channel},
                          timeout=10).json()
        return next((m for m in found if (m.get("metadata") or {}).get("event_payload", {})
                     .get("run_id") == sent.run_id and any(
                         b.get("block_id") == "feedback" for b in m.get("blocks") or [])), None)

    posted = _eventually(answer)
    clicked = httpx.post(f"{slack}/sandbox/click", timeout=30, json={
        "user": "U_LEAD", "channel": posted["channel"], "message_ts": posted["ts"],
        "action_id": "feedback_bad", "block_id": "feedback"})
    assert clicked.status_code == 200 and clicked.json()["ok"], clicked.text

    audit = target.url("audit")
    _eventually(lambda: feedback.fetch(audit, target.team_id, target.audit_token,
                                       kind="feedback"))
    written = feedback.export(audit, target.team_id, target.audit_token, tmp_path)
    [folder] = [w for w in written if w.name == sent.run_id.lower()]
    candidate = load_case(folder)
    assert candidate.text == case.text and candidate.tags == ["replay"]
    assert "U_LEAD rated the answer" in candidate.spec.description
    # Exported before: kept as a person may have edited it, not written again.
    assert feedback.export(audit, target.team_id, target.audit_token, tmp_path) == []
