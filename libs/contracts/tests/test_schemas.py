"""Every message's JSON Schema is snapshotted: an incompatible change fails here until the
snapshot is regenerated on purpose (UPDATE_SCHEMAS=1) and `schema_version` considered."""

import json
import os
from pathlib import Path

import pytest
from triage_contracts.messages import ALL_MESSAGES

SNAPSHOTS = Path(__file__).parent / "schemas"


@pytest.mark.parametrize("model", ALL_MESSAGES, ids=lambda m: m.__name__)
def test_schema_matches_snapshot(model: type) -> None:
    schema = json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"
    path = SNAPSHOTS / f"{model.__name__}.json"
    if os.environ.get("UPDATE_SCHEMAS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(schema)
    assert path.exists(), f"no snapshot for {model.__name__}: run with UPDATE_SCHEMAS=1"
    assert schema == path.read_text(), (
        f"{model.__name__}'s JSON Schema changed. If the change is compatible (a new optional "
        "field), regenerate with UPDATE_SCHEMAS=1; if not, bump schema_version and keep "
        "consumers able to read the old version."
    )


def test_every_snapshot_has_a_model() -> None:
    names = {m.__name__ for m in ALL_MESSAGES}
    stale = {p.stem for p in SNAPSHOTS.glob("*.json")} - names
    assert not stale, f"snapshots without a model (removed message?): {sorted(stale)}"


def test_messages_reject_unknown_fields() -> None:
    from pydantic import ValidationError
    from triage_contracts.messages import ToolCall

    with pytest.raises(ValidationError, match="extra"):
        ToolCall.model_validate(
            {"team_id": "T1", "run_id": "r", "step_id": "s", "tool": "t", "surprise": 1})
