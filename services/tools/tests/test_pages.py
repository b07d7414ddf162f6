"""The cutting rules on plain values: pages fit the budget, hold the whole output once and
in order, keep a log's end first, and come out the same every time."""

import re
from typing import Any

import pytest
from triage_contracts.messages import OutputPage
from triage_contracts.tools import OutputPageArgs
from triage_tools.errors import ToolError
from triage_tools.pages import OutputTooLarge, Pager, handle_for, size

BUDGET = 1_000


def all_pages(pager: Pager) -> list[tuple[Any, OutputPage]]:
    return [pager.page(n) for n in range(1, pager.pages + 1)]


def test_a_list_is_cut_by_items_that_fit() -> None:
    items = [{"number": n, "title": "x" * 90} for n in range(40)]
    pager = Pager(items, BUDGET)
    pages = all_pages(pager)
    assert pager.unit == "items" and pager.total == 40 and pager.pages > 1
    assert all(size(data) <= BUDGET for data, _ in pages)
    assert [i for data, _ in pages for i in data] == items
    first = pages[0][1]
    assert (first.unit, first.total, first.next_page) == ("items", 40, 2)
    assert sum(p.returned for _, p in pages) == 40
    assert pages[-1][1].next_page is None
    taken = len(pages[0][0])
    assert size([*pages[0][0], items[taken]]) > BUDGET  # the first items that fit


def test_a_dict_pages_its_record_lists_and_repeats_the_rest() -> None:
    diff = {"status": "ahead", "ahead_by": 20, "labels": ["a", "b"],
            "commits": [{"sha": f"{n:07x}", "message": "m" * 60} for n in range(20)],
            "files": [{"filename": f"f{n}.py", "patch": "p" * 150} for n in range(8)]}
    pages = all_pages(Pager(diff, BUDGET))
    assert all(size(data) <= BUDGET for data, _ in pages)
    assert all(data["status"] == "ahead" and data["labels"] == ["a", "b"]
               for data, _ in pages)
    commits = [c for data, _ in pages for c in data["commits"]]
    files = [f for data, _ in pages for f in data["files"]]
    assert commits == diff["commits"] and files == diff["files"]
    assert pages[0][1].total == 28


def test_a_lone_series_pages_its_points() -> None:
    matrix = {"resultType": "matrix", "result": [
        {"metric": {"service": "checkout-api"},
         "values": [[1_700_000_000 + 60 * n, "0.0712"] for n in range(300)]}]}
    pager = Pager(matrix, BUDGET)
    assert pager.paths == [("result", 0, "values")] and pager.total == 300
    points = [v for data, _ in all_pages(pager) for v in data["result"][0]["values"]]
    assert points == matrix["result"][0]["values"]


def log_of(lines: int) -> dict[str, Any]:
    text = "\n".join(f"step {n}: " + "é\"\\" * (n % 5) + "output" for n in range(lines))
    return {"job_id": 7, "total_lines": lines, "log": text + "\n##[error]exit code 1"}


def test_a_text_is_cut_at_line_ends_from_the_start() -> None:
    log = log_of(200)
    pages = all_pages(Pager(log, BUDGET))
    texts = [data["log"] for data, _ in pages]
    assert "".join(texts) == log["log"] and all(t.endswith("\n") for t in texts[:-1])
    assert all(size(data) <= BUDGET for data, _ in pages)
    assert pages[0][1].unit == "chars" and pages[0][1].total == len(log["log"])


def test_a_log_keeps_its_end_first() -> None:
    log = log_of(200)
    pages = all_pages(Pager(log, BUDGET, keep_tail=True))
    texts = [data["log"] for data, _ in pages]
    assert texts[0].endswith("##[error]exit code 1") and texts[-1].startswith("step 0: ")
    assert "".join(reversed(texts)) == log["log"]
    assert all(t.endswith("\n") for t in texts[1:])  # each earlier page ends a line
    assert all(data["job_id"] == 7 for data, _ in pages)


def test_a_line_longer_than_a_page_is_split() -> None:
    line = {"log": "a" * 2_500}
    pager = Pager(line, BUDGET, keep_tail=True)
    texts = [data["log"] for data, _ in all_pages(pager)]
    assert "".join(reversed(texts)) == line["log"] and len(texts) == 3


def test_pages_are_the_same_every_time() -> None:
    log = log_of(300)
    assert all_pages(Pager(log, BUDGET, True)) == all_pages(Pager(log, BUDGET, True))
    assert handle_for("T1", "r1", "s1") == handle_for("T1", "r1", "s1")
    assert len({handle_for("T1", "r1", "s1"), handle_for("T1", "r1", "s2"),
                handle_for("T1", "r2", "s1"), handle_for("T2", "r1", "s1")}) == 4
    OutputPageArgs(handle=handle_for("T1", "r1", "s1"))  # the contract accepts it
    assert re.fullmatch(r"out-[0-9a-f]{40}", handle_for("T1", "r1", "s1"))


def test_what_cannot_be_paged_is_refused_with_what_to_do() -> None:
    with pytest.raises(OutputTooLarge, match=r"item 2 of 3 is longer than the 1,000 "
                                             r"characters a page may hold; narrow the call"):
        Pager([{"a": 1}, {"b": "x" * 2_000}, {"c": 3}], BUDGET)
    with pytest.raises(OutputTooLarge, match="what surrounds the paged part"):
        Pager({"note": "x" * 2_000, "items": [1, 2, 3]}, BUDGET)


def test_a_page_that_does_not_exist_says_how_many_there_are() -> None:
    pager = Pager([{"n": n, "text": "x" * 100} for n in range(30)], BUDGET)
    with pytest.raises(ToolError, match=f"page 99 does not exist: this output has "
                                        f"{pager.pages} pages"):
        pager.page(99)
