"""World files: the packaged worlds load and agree with themselves (every patch is a
well-formed unified diff whose last version of a file is what code search serves), and a
bad world file fails with a message that says what is wrong."""

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from triage_sandbox.demo_data import build_demo
from triage_sandbox.world import WorldError, load_world, read_spec, resolve
from triage_sandbox.world.model import Commit, Repo, World

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _hunks(patch: str) -> list[tuple[int, int, int, int, list[str]]]:
    hunks: list[tuple[int, int, int, int, list[str]]] = []
    for line in patch.split("\n"):
        header = HUNK.match(line)
        if header:
            a, b, c, d = header.groups()
            hunks.append((int(a), int(b or 1), int(c), int(d or 1), []))
        else:
            hunks[-1][4].append(line)
    return hunks


def _all_commits(world: World) -> list[tuple[Repo, Commit]]:
    return [(r, c) for r in world.repos.values() for c in [*r.commits, *r.heads.values()]]


@pytest.mark.parametrize("name", ["demo", "oncall"])
def test_every_patch_is_a_well_formed_unified_diff(name: str) -> None:
    for repo, commit in _all_commits(load_world(name, NOW)):
        for change in commit.files:
            for _, old_len, _, new_len, body in _hunks(change.patch):
                where = f"{repo.name} {commit.message.splitlines()[0]!r} {change.filename}"
                assert all(line[:1] in " +-\\" for line in body), where
                assert sum(line[:1] in " -" for line in body) == old_len, where
                assert sum(line[:1] in " +" for line in body) == new_len, where


def test_the_last_change_of_each_file_is_what_the_head_tree_holds() -> None:
    for repo in load_world("demo", NOW).repos.values():
        seen: set[str] = set()
        for commit in repo.commits:  # newest first: the first hit is the last change
            for change in commit.files:
                if change.filename in seen or change.filename not in repo.files:
                    continue
                seen.add(change.filename)
                head = repo.files[change.filename].split("\n")
                for _, _, start, length, body in _hunks(change.patch):
                    new_side = [line[1:] for line in body if line[:1] in " +"]
                    assert head[start - 1:start - 1 + length] == new_side, change.filename
        assert seen, repo.name


def test_relative_times_follow_now_and_shas_do_not() -> None:
    today, tomorrow = load_world("demo", NOW), load_world("demo", NOW + timedelta(days=1))
    for a, b in zip(today.repos["checkout-api"].commits,
                    tomorrow.repos["checkout-api"].commits, strict=True):
        assert a.sha == b.sha and b.date - a.date == timedelta(days=1)
    assert today.incident_start == NOW - timedelta(hours=5, minutes=50)
    assert build_demo(NOW).bad_commit.sha.startswith("e15da5d")  # evals cite it


def test_a_world_of_its_own_in_json_with_a_fixed_now(tmp_path: Path) -> None:
    world = {
        "now": "2024-01-01T00:00:00Z", "org": "acme",
        "people": {"ann": {"name": "Ann", "id": 7}},
        "repos": {"api": {"id": 9, "commits": [
            {"id": "a", "at": "-2h", "author": "ann", "message": "Start"},
            {"id": "b", "at": "2023-12-31T23:30:00Z", "author": "ann", "message": "Go"}],
            "issues": [{"number": 1, "title": "Broken", "author": "ann",
                        "created": "-1h", "labels": ["sev1"]}]}},
        "series": [{"metric": "up", "labels": {"job": "api"},
                    "values": [{"value": 1}, {"from": "-30m", "value": None}]}],
    }
    path = tmp_path / "world.json"
    path.write_text(json.dumps(world))
    loaded = load_world(path)
    assert loaded.now == datetime(2024, 1, 1, tzinfo=UTC)
    repo = loaded.repo("acme", "api")
    assert repo is not None and [c.message for c in repo.commits] == ["Go", "Start"]
    assert repo.commits[0].parent == repo.commits[1].sha
    [up] = loaded.series
    assert up.value_at(loaded.now - timedelta(hours=1)) == 1.0
    assert up.value_at(loaded.now) is None  # no samples after the series stopped


@pytest.mark.parametrize(("change", "message"), [
    ({"repos": {"api": {"id": 1, "colour": "red"}}}, "Extra inputs are not permitted"),
    ({"repos": {"api": {"id": 1, "commits": [
        {"id": "a", "at": "-1h", "author": "nobody", "message": "x"}]}}},
     "unknown person 'nobody'"),
    ({"repos": {"api": {"id": 1, "commits": [
        {"id": "a", "at": "yesterday", "author": "ann", "message": "x"}]}}},
     "not a time like -6h"),
    ({"repos": {"api": {"id": 1, "runs": [{"commit": "nope"}]}}}, "no commit with id 'nope'"),
    ({"series": [{"metric": "up", "values": [{"value": 1, "from": "-1h"}, {"value": 2}]}]},
     "only the first value may omit `from`"),
])
def test_a_bad_world_file_says_what_is_wrong(tmp_path: Path, change: dict[str, object],
                                             message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps({"people": {"ann": {"name": "Ann", "id": 7}}, **change}))
    with pytest.raises(WorldError, match=re.escape(message)):
        load_world(path)


def test_extends_appends_lists_and_merges_mappings() -> None:
    base, extended = read_spec("demo"), read_spec("oncall")
    assert set(base.people) < set(extended.people)
    assert [p.number for p in extended.repos["checkout-api"].pulls] == [41, 39, 40]
    assert extended.repos["checkout-api"].commits == base.repos["checkout-api"].commits


def test_a_relative_extends_is_read_from_the_extending_files_folder(tmp_path: Path) -> None:
    case = tmp_path / "case"
    case.mkdir()
    (case / "world.yaml").write_text("extends: demo\nrepos:\n  checkout-api:\n    issues:\n"
                                     "      - {number: 90, title: Clean, author: alice-dev,"
                                     " created: -1h}\n")
    (case / "attack.yaml").write_text("extends: world.yaml\nrepos:\n  checkout-api:\n"
                                      "    issues:\n      - {number: 91, title: Planted,"
                                      " author: alice, created: -1h}\n")
    numbers = [i.number for i in read_spec(case / "attack.yaml").repos["checkout-api"].issues]
    assert numbers[-2:] == [90, 91]
    assert "extends" not in resolve(case / "attack.yaml")
