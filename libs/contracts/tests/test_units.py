"""Pure pieces of the contracts: subjects, redaction, consumers."""

import pytest
from triage_contracts import subjects
from triage_contracts.errors import PermanentError
from triage_contracts.redact import find_secrets, redact
from triage_contracts.streams import Consumers


def test_subjects_carry_the_team_and_refuse_unsafe_tokens() -> None:
    assert subjects.event("T1", "mention") == "triage.event.T1.mention"
    assert subjects.team_of(subjects.work("tool", "T9", "github_search")) == "T9"
    assert subjects.team_of(subjects.approval_decision("T7")) == "T7"
    with pytest.raises(PermanentError):
        subjects.event("T1.>", "mention")


def test_team_scoped_consumers_filter_one_team() -> None:
    scoped = Consumers.TOOLS.for_team("T42")
    assert scoped.filter_subject == "triage.work.tool.T42.>"
    assert scoped.durable == "tools-T42"
    assert Consumers.ORCHESTRATOR_DECISIONS.for_team("T42").filter_subject == (
        "triage.approval.decision.T42")


def test_redaction_covers_common_tokens() -> None:
    text = "token xoxb-123456789012-abcdefghijkl and ghp_" + "a" * 36
    assert set(find_secrets(text)) >= {"slack_token", "github_token"}
    cleaned = redact({"msg": text, "Authorization": "Bearer abc", "n": 3})
    assert "xoxb-" not in cleaned["msg"] and "ghp_" not in cleaned["msg"]
    assert cleaned["Authorization"] == "[REDACTED]" and cleaned["n"] == 3
