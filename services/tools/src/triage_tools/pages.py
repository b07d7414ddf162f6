"""Cutting a tool output to fit a prompt, and reading it on page by page. Pure.

An output whose compact JSON is longer than the budget (TOOL_OUTPUT_CHARS) is paged along
its *spine*, the part that holds its bulk: the list the output is (search hits), the lists
of records a dict holds (a pull request's files; a comparison's commits then files), a
lone record's own list (the points of a one-series range query), or else its longest text
(a job's log). Everything else (the frame) is repeated on every page. Lists are cut by
items, the first ones that fit; texts by characters, at line ends where a line fits,
from the start, or from the end for tools that keep the tail (a log's errors are at its
end: page 1 is the end, page 2 what precedes it).

Invariants callers rely on: the pages of an output are the same however often they are
computed (boundaries depend only on the output, the budget and the direction); together
they hold the whole spine, in order, each unit once; and every page's data fits the budget.
When that is impossible (one item or the frame alone is over the budget) the output is
refused with `OutputTooLarge`, asking the model to narrow the call.
"""

import hashlib
import json
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from triage_contracts.errors import ErrorCode
from triage_contracts.messages import OutputPage

from .errors import ToolError

Path = tuple[str | int, ...]
Unit = Literal["items", "chars"]
Bounds = tuple[int, int]


class OutputTooLarge(ToolError):
    def __init__(self, what: str, budget: int) -> None:
        super().__init__(f"the output cannot be paged: {what} is longer than the "
                         f"{budget:,} characters a page may hold; narrow the call (fewer "
                         "or smaller items: a filter, a lower limit, a larger step)",
                         ErrorCode.TOO_LARGE)


@dataclass(frozen=True)
class Cut:
    """One page of a cut output, as a runner returns it (`output.page`)."""

    data: Any
    page: OutputPage


def size(value: Any) -> int:
    """Characters of `value` as compact JSON (how a prompt carries it)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def handle_for(team_id: str, run_id: str, step_id: str) -> str:
    """The same call (a redelivery too) always gets the same handle; others never do."""
    digest = hashlib.sha256(f"{team_id}\0{run_id}\0{step_id}".encode()).hexdigest()
    return f"out-{digest[:40]}"


def at(data: Any, path: Path) -> Any:
    for key in path:
        data = data[key]
    return data


def replaced(data: Any, path: Path, value: Any) -> Any:
    """`data` with the value at `path` replaced, copying only along the path."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {**data, head: replaced(data[head], rest, value)}
    copy = list(data)
    copy[int(head)] = replaced(copy[int(head)], rest, value)
    return copy


def spine(data: Any, path: Path = ()) -> list[Path]:
    """Where the bulk of `data` is: one text, one list, or several lists of records."""
    if isinstance(data, str):
        return [path]
    if isinstance(data, list):
        if len(data) == 1 and isinstance(data[0], dict | list):
            return spine(data[0], (*path, 0)) or [path]
        return [path]
    if not isinstance(data, dict):
        return []
    lists = [k for k, v in data.items() if isinstance(v, list) and v]
    records = [k for k in lists if any(isinstance(x, dict | list) for x in data[k])]
    chosen = records or lists
    if len(chosen) > 1:
        return [(*path, k) for k in chosen]
    if chosen:
        return spine(data[chosen[0]], (*path, chosen[0]))
    if not data:
        return []
    largest = max(data, key=lambda k: size(data[k]))
    return spine(data[largest], (*path, largest))


class Pager:
    """The pages of one output under one budget."""

    def __init__(self, data: Any, budget: int, keep_tail: bool = False) -> None:
        self.data, self.budget, self.keep_tail = data, budget, keep_tail
        self.paths = spine(data)
        if not self.paths:
            raise OutputTooLarge("a value with no list or text to page", budget)
        text = at(data, self.paths[0])
        self.unit: Unit = "chars" if isinstance(text, str) else "items"
        if self.unit == "chars":
            self.total = len(text)
            self.bounds = _text_pages(text, self._room(""), keep_tail)
        else:
            self.sections = [len(at(data, p)) for p in self.paths]
            self.total = sum(self.sections)
            self.bounds = self._item_pages()

    @property
    def pages(self) -> int:
        return len(self.bounds)

    def page(self, number: int) -> tuple[Any, OutputPage]:
        """Page `number` (from 1): its data and what it holds; the handle is left blank."""
        if not 1 <= number <= self.pages:
            raise ToolError(f"page {number} does not exist: this output has {self.pages} "
                            f"pages", ErrorCode.NOT_FOUND)
        start, end = self.bounds[number - 1]
        data = self._items(start, end) if self.unit == "items" else replaced(
            self.data, self.paths[0], at(self.data, self.paths[0])[start:end])
        nxt = number + 1 if number < self.pages else None
        return data, OutputPage(handle="", unit=self.unit, returned=end - start,
                                total=self.total, next_page=nxt)

    def _frame(self, empty: Any) -> Any:
        frame = self.data
        for path in self.paths:
            frame = replaced(frame, path, empty)
        return frame

    def _room(self, empty: Any) -> int:
        room = self.budget - size(self._frame(empty))
        if room <= 0:
            raise OutputTooLarge("what surrounds the paged part", self.budget)
        return room

    def _units(self) -> list[tuple[int, Any]]:
        return [(s, item) for s, p in enumerate(self.paths) for item in at(self.data, p)]

    def _item_pages(self) -> list[Bounds]:
        """Greedy: each page takes the next items while the page's JSON fits."""
        room, units = self._room([]), self._units()
        bounds: list[Bounds] = []
        start, used, sections = 0, 0, set[int]()
        for index, (section, item) in enumerate(units):
            cost = size(item) + (section in sections)  # a comma after a sibling
            if used + cost > room and index > start:
                bounds.append((start, index))
                start, used, sections = index, 0, set[int]()
                cost = size(item)
            if cost > room:
                raise OutputTooLarge(f"item {index + 1} of {len(units)}", self.budget)
            used += cost
            sections.add(section)
        bounds.append((start, len(units)))
        return bounds

    def _items(self, start: int, end: int) -> Any:
        data, first = self.data, 0
        for path, count in zip(self.paths, self.sections, strict=True):
            items = at(self.data, path)
            data = replaced(data, path, items[max(start - first, 0): max(end - first, 0)])
            first += count
        return data


def _escaped(text: str) -> int:
    return size(text) - 2


def _text_pages(text: str, room: int, from_end: bool) -> list[Bounds]:
    """Character bounds of each page, in page order: whole lines while they fit, a line
    longer than a page split; `from_end` fills pages from the end backwards."""
    spans = deque(_lines(text)[::-1] if from_end else _lines(text))
    bounds: list[Bounds] = []
    current: Bounds | None = None
    used = 0
    while spans:
        start, end = spans.popleft()
        cost = _escaped(text[start:end])
        if current is not None and used + cost <= room:
            current, used = (min(current[0], start), max(current[1], end)), used + cost
            continue
        if current is not None:
            bounds.append(current)
            current, used = None, 0
        if cost <= room:
            current, used = (start, end), cost
            continue
        fits = max(1, _longest(text[start:end], room, from_end))
        bounds.append((end - fits, end) if from_end else (start, start + fits))
        spans.appendleft((start, end - fits) if from_end else (start + fits, end))
    if current is not None:
        bounds.append(current)
    return bounds or [(0, 0)]


def _lines(text: str) -> list[Bounds]:
    spans, start = [], 0
    for line in text.splitlines(keepends=True):
        spans.append((start, start + len(line)))
        start += len(line)
    return spans


def _longest(line: str, room: int, suffix: bool) -> int:
    """The most characters of `line` (its start, or its end) whose JSON fits `room`."""
    low, high = 0, len(line)
    while low < high:
        middle = (low + high + 1) // 2
        if _escaped(line[-middle:] if suffix else line[:middle]) <= room:
            low = middle
        else:
            high = middle - 1
    return low
