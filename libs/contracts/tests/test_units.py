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
    # A poison install event is dead-lettered under its team too (consume.py).
    assert subjects.team_of(subjects.install("T5", "installed")) == "T5"
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


@pytest.mark.parametrize("value", ["", "   ", "dev-only-x", "sandbox-token", "changethis",
                                   "xoxb-sandbox-t0-1"])
def test_production_refuses_any_set_secret_that_is_blank_or_a_placeholder(value: str) -> None:
    from pydantic import SecretStr
    from triage_contracts.settings import ServiceSettings
    from triage_contracts.testing import PRODUCTION_NATS

    class WithOptional(ServiceSettings):
        some_api_key: SecretStr | None = None

    WithOptional(environment="production", **PRODUCTION_NATS
                 ).check_production_secrets()  # unset: optional
    WithOptional(environment="production", some_api_key=SecretStr("9f86d081884c7d65"),
                 **PRODUCTION_NATS).check_production_secrets()
    with pytest.raises(ValueError, match="SOME_API_KEY is blank or a development value"):
        WithOptional(environment="production", some_api_key=SecretStr(value),
                      **PRODUCTION_NATS)
