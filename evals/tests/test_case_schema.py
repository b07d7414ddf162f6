"""The case schema: good cases load, and every kind of bad `test_case.yaml` is refused
with an error that names the file, the field and what to do."""

from pathlib import Path

import pytest

from evals.cases import CaseError, Kind, load_case, load_cases

GOOD = """\
user_prompt: why is checkout-api failing?
tags: [replay]
expect:
  skill: incident@1
  reply_contains: ["e15da5d"]
"""


def write_case(root: Path, name: str, text: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "test_case.yaml").write_text(text)
    return folder


def refusal(tmp_path: Path, text: str, name: str = "bad-case") -> str:
    folder = write_case(tmp_path, name, text)
    with pytest.raises(CaseError) as caught:
        load_case(folder)
    message = str(caught.value)
    assert str(folder) in message  # always says which file
    return message


def test_a_good_case_loads_with_defaults(tmp_path: Path) -> None:
    case = load_case(write_case(tmp_path, "good-case", GOOD))
    assert case.name == "good-case"
    assert case.text == "why is checkout-api failing?"
    assert case.spec.user == "U_REQUESTER" and case.spec.kind is Kind.MENTION
    assert case.tags == ["replay"]
    assert case.spec.expect.approval_proposed is None  # unset = not checked


def test_a_misspelt_expectation_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    message = refusal(tmp_path, GOOD.replace("reply_contains", "reply_contain"))
    assert "expect.reply_contain: unknown field (did you mean 'reply_contains'?)" in message


def test_an_unknown_top_level_field_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, GOOD + "tag: [replay]\n")
    assert "tag: unknown field (did you mean 'tags'?)" in message


@pytest.mark.parametrize(("text", "expected"), [
    (GOOD.replace("tags: [replay]\n", ""), "tags: Field required"),
    (GOOD.replace("[replay]", "[smoke]"), "tags.0: Input should be 'replay', 'red-team'"),
    (GOOD.replace("[replay]", "[]"), "tags: List should have at least 1 item"),
    (GOOD.replace("incident@1", "incident"), "must look like name@version"),
    (GOOD + "kind: thread\n", "kind: Input should be 'mention', 'dm' or 'command'"),
    (GOOD + "user_prompt_file: q.txt\n", "exactly one of `user_prompt` or `user_prompt_file`"),
    (GOOD.replace("why is checkout-api failing?", "' '"), "`user_prompt` is empty"),
    (GOOD.replace('["e15da5d"]', '[""]'), "empty strings match everything"),
    (GOOD + "known_failure: ' '\n", "`known_failure` must say why"),
    (GOOD.replace("expect:\n", "expect: 3\nx:\n"), "expect: Input should be a valid dictionary"),
])
def test_bad_fields_are_refused_with_the_reason(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in refusal(tmp_path, text)


def test_bad_yaml_and_non_mappings_are_refused(tmp_path: Path) -> None:
    assert "not valid YAML" in refusal(tmp_path, "user_prompt: [unclosed\n", "yaml-case")
    assert "must be a mapping" in refusal(tmp_path, "- a list\n", "list-case")


def test_user_prompt_file_is_read_and_must_stay_in_the_folder(tmp_path: Path) -> None:
    text = GOOD.replace("user_prompt: why is checkout-api failing?", "user_prompt_file: q.txt")
    folder = write_case(tmp_path, "file-case", text)
    (folder / "q.txt").write_text("a long pasted log\n" * 3)
    assert load_case(folder).text.startswith("a long pasted log")
    assert "not found" in refusal(tmp_path, text, "missing-file")
    escaping = text.replace("q.txt", "../file-case/q.txt")
    assert "must stay inside the case folder" in refusal(tmp_path, escaping, "escaping")


def test_folder_names_and_filters(tmp_path: Path) -> None:
    write_case(tmp_path, "replay-one", GOOD)
    write_case(tmp_path, "red-one", GOOD.replace("[replay]", "[red-team]"))
    assert [c.name for c in load_cases(tmp_path)] == ["red-one", "replay-one"]
    assert [c.name for c in load_cases(tmp_path, tags=["red-team"])] == ["red-one"]
    assert [c.name for c in load_cases(tmp_path, names=["replay-one"])] == ["replay-one"]
    with pytest.raises(CaseError, match="no case named nope"):
        load_cases(tmp_path, names=["nope"])
    with pytest.raises(CaseError, match="no such cases folder"):
        load_cases(tmp_path / "missing")
    write_case(tmp_path, "Bad_Name", GOOD)
    with pytest.raises(CaseError, match="lower-case-with-dashes"):
        load_cases(tmp_path)


def test_the_shipped_cases_all_load() -> None:
    cases = load_cases(Path(__file__).resolve().parents[1] / "cases")
    assert len(cases) >= 10
    assert all(c.text.strip() for c in cases)
    huge = next(c for c in cases if c.name == "huge-question")
    assert len(huge.text.encode()) >= 30_000
