"""Workflow and skill files: the shipped ones load; bad ones fail with the reason; skills
are identified and pinned by the hash of their file."""

from pathlib import Path

import pytest
from triage_orchestrator.__main__ import main
from triage_orchestrator.classify import render
from triage_orchestrator.settings import PACKAGE_DIR
from triage_orchestrator.skills import load_skills
from triage_orchestrator.spec import ConfigError, load_workflow

GOOD_STEPS = """
  - {id: classify, kind: classify, route: classify}
  - {id: investigate, kind: investigate, route: agent}
  - {id: reply, kind: reply}
"""
SKILL = """---
name: {name}
version: "1"
description: d
{extra}---
# Runbook
Do the thing.
"""


def write(tmp_path: Path, text: str, name: str = "workflow.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def skill(tmp_path: Path, name: str, extra: str = "") -> Path:
    return write(tmp_path, SKILL.format(name=name, extra=extra), f"{name}/SKILL.md")


def test_shipped_workflow_and_skills_load() -> None:
    spec = load_workflow(PACKAGE_DIR / "workflow.yaml")
    assert [s.id for s in spec.steps] == [
        "classify", "investigate", "policy", "approval", "act", "reply"]
    assert spec.budgets.max_turns == 6 and spec.budgets.max_usd == 0.5
    skills = load_skills(PACKAGE_DIR / "skills")
    assert [s.name for s in skills] == ["incident", "change-review", "issue-summary", "general"]
    incident = skills[0]
    for text in ("checkout is failing", "502s since noon", "why is it slow", "API down",
                 "an outage", "alert fired", "errors in logs", "the latency regression"):
        assert incident.matches(text), text
    assert not incident.matches("what changed in payments-api recently?")
    assert incident.write_tools == ["github.comment_issue"]
    assert incident.instructions.startswith("# Incident triage")
    assert len(incident.sha256) == 64 and incident.fallback is False
    assert skills[-1].fallback and "github.search_code" in skills[-1].read_tools()


def test_skills_are_pinned_by_content_hash(tmp_path: Path) -> None:
    skill(tmp_path, "general")
    skill(tmp_path, "incident", "match: [failing]\n")
    every = load_skills(tmp_path)
    general = next(s for s in every if s.name == "general")
    pinned = load_skills(tmp_path, f"general@{general.sha256[:12]}")
    assert [s.name for s in pinned] == ["general"]
    with pytest.raises(ConfigError, match="pinned to 000000000000"):
        load_skills(tmp_path, "general@000000000000")
    with pytest.raises(ConfigError, match="does not exist"):
        load_skills(tmp_path, "general,nope")
    with pytest.raises(ConfigError, match="no fallback skill"):
        load_skills(tmp_path, "incident")
    skill(tmp_path, "general", "# edited\n")  # the reviewed text changed: the pin refuses
    with pytest.raises(ConfigError, match="review the change"):
        load_skills(tmp_path, f"general@{general.sha256[:12]}")


def test_the_skills_command_lists_name_version_and_hash(capsys, monkeypatch) -> None:
    monkeypatch.setenv("SKILLS", "incident,general")
    assert main(["skills"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "HASH"]
    assert [line.split()[0] for line in lines[1:]] == ["incident", "general"]
    assert all(line.split()[2].startswith("sha256:") for line in lines[1:])
    monkeypatch.setenv("SKILLS", "ghost")
    assert main(["skills"]) == 2


def test_unknown_step_kind_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 2\nname: t\nsteps:\n" + GOOD_STEPS
                 + "  - {id: magic, kind: teleport}\n")
    with pytest.raises(ConfigError) as err:
        load_workflow(path)
    message = str(err.value)
    assert str(path) in message and "steps.3.kind" in message and "(got 'teleport')" in message


@pytest.mark.parametrize(("body", "reason"), [
    ("version: 2\nname: t\nretries: 3\nsteps:\n" + GOOD_STEPS, "retries: Extra inputs"),
    ("version: 2\nname: t\nsteps:\n  - {id: reply, kind: reply}\n", "first step must be"),
    ("version: 2\nname: t\nsteps:\n  - {id: classify, kind: classify, route: c}\n"
     "  - {id: investigate, kind: investigate, route: a}\n"
     "  - {id: act, kind: act}\n  - {id: reply, kind: reply}\n", "needs an 'approval' step"),
    ("version: 2\nname: t\nsteps:\n  - {id: classify, kind: classify, route: c}\n"
     "  - {id: investigate, kind: investigate}\n  - {id: reply, kind: reply}\n", "needs a route"),
    ("version: 2\nname: t\nsteps:\n  - {id: classify, kind: classify, route: c}\n"
     "  - {id: reply, kind: reply}\n", "'investigate' step is required"),
    ("version: 2\nname: t\nbudgets: {max_turns: 0}\nsteps:\n" + GOOD_STEPS, "max_turns"),
    ("version: 2\nname: t\nsteps: [\n", "not valid YAML"),
])
def test_incoherent_workflows_are_refused(tmp_path: Path, body: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        load_workflow(write(tmp_path, body))


def test_bad_skills_are_refused(tmp_path: Path) -> None:
    skill(tmp_path, "general")
    bad = skill(tmp_path, "bad", "match: ['(unclosed']\n")
    with pytest.raises(ConfigError, match=r"bad/SKILL.md.*invalid regex"):
        load_skills(tmp_path)
    skill(tmp_path, "bad", "match: [x]\nwrite-tools: [github.delete_repo]\n")
    with pytest.raises(ConfigError, match="unknown write tools"):
        load_skills(tmp_path)
    skill(tmp_path, "bad", "match: [x]\nallowed-tools: [github.comment_issue]\n")
    with pytest.raises(ConfigError, match="unknown read tools"):
        load_skills(tmp_path)
    bad.write_text("no front matter here")
    with pytest.raises(ConfigError, match="no YAML front matter"):
        load_skills(tmp_path)


def test_templates_fill_only_known_placeholders() -> None:
    query = 'rate(x{service="{service}"}[5m])'
    assert render({"q": query, "n": 3}, {"service": "api"}) == {
        "q": 'rate(x{service="api"}[5m])', "n": 3}
    with pytest.raises(KeyError):
        render("{repo}", {"repo": None})
