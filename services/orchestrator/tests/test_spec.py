"""Workflow and skill files: the shipped ones load; bad ones fail with the reason."""

from pathlib import Path

import pytest
from triage_orchestrator.classify import render
from triage_orchestrator.settings import PACKAGE_DIR
from triage_orchestrator.spec import ConfigError, load_skills, load_workflow

GOOD_STEPS = """
  - {id: classify, kind: classify}
  - {id: gather, kind: gather}
  - {id: reply, kind: reply}
"""


def write(tmp_path: Path, text: str, name: str = "workflow.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_workflow_and_skills_load() -> None:
    spec = load_workflow(PACKAGE_DIR / "workflow.yaml")
    assert [s.id for s in spec.steps] == [
        "classify", "gather", "draft", "policy", "approval", "act", "reply"]
    skills = load_skills(PACKAGE_DIR / "skills")
    assert [s.name for s in skills] == ["incident", "change-review", "general"]
    incident = skills[0]
    for text in ("checkout is failing", "502s since noon", "why is it slow", "API down",
                 "an outage", "alert fired", "errors in logs"):
        assert incident.matches(text), text
    assert not incident.matches("what changed in payments-api recently?")
    assert incident.write_tools == ["github.comment_issue"]


def test_unknown_step_kind_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nname: t\nsteps:\n" + GOOD_STEPS
                 + "  - {id: magic, kind: teleport}\n")
    with pytest.raises(ConfigError) as err:
        load_workflow(path)
    message = str(err.value)
    assert str(path) in message and "steps.3.kind" in message and "'classify'" in message


@pytest.mark.parametrize(("body", "reason"), [
    ("version: 1\nname: t\nretries: 3\nsteps:\n" + GOOD_STEPS, "retries: Extra inputs"),
    ("version: 1\nname: t\nsteps:\n  - {id: reply, kind: reply}\n", "first step must be"),
    ("version: 1\nname: t\nsteps:\n  - {id: classify, kind: classify}\n"
     "  - {id: act, kind: act}\n  - {id: reply, kind: reply}\n", "needs an 'approval' step"),
    ("version: 1\nname: t\nsteps:\n  - {id: classify, kind: classify}\n"
     "  - {id: draft, kind: model}\n  - {id: reply, kind: reply}\n", "needs a route"),
    ("version: 1\nname: t\nsteps: [\n", "not valid YAML"),
])
def test_incoherent_workflows_are_refused(tmp_path: Path, body: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        load_workflow(write(tmp_path, body))


def test_bad_skills_are_refused(tmp_path: Path) -> None:
    good = "name: general\nversion: '1'\ndescription: d\ninstructions: i\n"
    write(tmp_path, good, "general.yaml")
    write(tmp_path, "name: bad\nversion: '1'\ndescription: d\ninstructions: i\n"
                    "match: ['(unclosed']\n", "bad.yaml")
    with pytest.raises(ConfigError, match=r"bad.yaml.*invalid regex"):
        load_skills(tmp_path)
    (tmp_path / "bad.yaml").write_text(good.replace("general", "w") + "match: [x]\n"
                                       "write_tools: [github.delete_repo]\n")
    with pytest.raises(ConfigError, match="unknown write tools"):
        load_skills(tmp_path)
    (tmp_path / "general.yaml").unlink()
    (tmp_path / "bad.yaml").write_text(good.replace("general", "w") + "match: [x]\n")
    with pytest.raises(ConfigError, match="no fallback skill"):
        load_skills(tmp_path)


def test_templates_fill_only_known_placeholders() -> None:
    query = 'rate(x{service="{service}"}[5m])'
    assert render({"q": query, "n": 3}, {"service": "api"}) == {
        "q": 'rate(x{service="api"}[5m])', "n": 3}
    with pytest.raises(KeyError):
        render("{repo}", {"repo": None})
