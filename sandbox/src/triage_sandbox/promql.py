"""Just enough PromQL for the Prometheus stand-in, which cannot evaluate expressions.

It rejects what Prometheus rejects as a syntax error (unbalanced brackets and quotes,
with Prometheus's own messages and columns), finds the metric an expression selects (the
first identifier outside labels, ranges and calls) and the label matchers it uses, and
picks the world's series that answer it: those of that metric whose labels satisfy the
query's matchers on the labels they carry (a matcher on a label the series lacks, such as
`code=~"5.."` on a ratio series, is taken as aggregated away). `match[]` selectors of the
discovery endpoints are matched strictly, as Prometheus does. Pure functions.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from .world.model import Series

STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_MATCHER = re.compile(
    r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(" + STRING.pattern + r")\s*,?")
_SELECTOR = re.compile(r"\s*([A-Za-z_:][A-Za-z0-9_:]*)?\s*(\{.*\})?\s*", re.S)
_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right", "bool",
                       "and", "or", "unless", "offset", "inf", "nan", "sum", "avg", "min",
                       "max", "count", "group", "stddev", "stdvar", "topk", "bottomk",
                       "quantile", "count_values", "limitk", "limit_ratio"})
# Label lists of grouping and vector matching: `by (service)` names labels, not metrics.
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_PAIRS = {"(": ")", "{": "}", "[": "]"}
_NAMES = {"(": "parenthesis", "{": "brace", "[": "bracket"}


class BadData(ValueError):
    """A query or parameter Prometheus itself would reject with `bad_data`."""


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str

    def holds(self, actual: str) -> bool:
        if self.op in ("=", "!="):
            return (actual == self.value) == (self.op == "=")
        try:
            found = re.fullmatch(self.value, actual) is not None
        except re.error as exc:
            raise BadData(f"error parsing regexp: {exc}: `^(?:{self.value})$`") from None
        return found == (self.op == "=~")


def syntax_error(query: str) -> str | None:
    """Prometheus's own parse error for unbalanced brackets and quotes (1-based columns)."""
    if not query.strip():
        return "1:1: parse error: no expression found in input"
    stack: list[tuple[str, int]] = []
    bare = STRING.sub(lambda m: " " * len(m.group()), query)
    quote = bare.find('"')
    if quote >= 0:
        return f"1:{quote + 1}: parse error: unterminated quoted string"
    for pos, char in enumerate(bare, start=1):
        if char in _PAIRS:
            stack.append((char, pos))
        elif char in _PAIRS.values() and (not stack or _PAIRS[stack[-1][0]] != char):
            if char == "}":
                return f"1:{pos}: parse error: unexpected character: '}}'"
            closing = next(_NAMES[o] for o, c in _PAIRS.items() if c == char)
            return f"1:{pos + 1}: parse error: unexpected right {closing} '{char}'"
        elif char in _PAIRS.values():
            stack.pop()
    if stack and stack[-1][0] == "{":
        return f"1:{len(query) + 1}: parse error: unexpected end of input inside braces"
    if stack:
        return f"1:{len(query) + 1}: parse error: unclosed left {_NAMES[stack[-1][0]]}"
    return None


def metric_name(query: str) -> str | None:
    """The first selector's metric name: identifiers outside labels, ranges and calls."""
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", STRING.sub(" ", query))
    bare = _LABEL_LISTS.sub(" ", bare)
    for match in _IDENT.finditer(bare):
        name, rest = match.group(), bare[match.end():].lstrip()
        before = bare[match.start() - 1] if match.start() else " "
        if name.lower() in _KEYWORDS or rest.startswith("(") or before.isdigit():
            continue
        return name
    return None


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def matchers(query: str) -> list[Matcher]:
    """Every label matcher in the query's `{...}` blocks."""
    out: list[Matcher] = []
    for block in re.findall(r"\{([^}]*)\}", STRING.sub(lambda m: m.group().replace(
            "}", "\x00"), query)):
        for label, op, value in _MATCHER.findall(block.replace("\x00", "}")):
            out.append(Matcher(label, op, _unquote(value)))
    return out


def answering(series: Iterable[Series], query: str) -> list[Series]:
    """The series that answer an instant or range query (see the module docstring)."""
    error = syntax_error(query)
    if error:
        raise BadData(f'invalid parameter "query": {error}')
    found = matchers(query)
    name = metric_name(query) or next((m.value for m in found if m.label == "__name__"
                                       and m.op == "="), None)
    if name is None:
        raise BadData('invalid parameter "query": 1:1: parse error: no metric selector found '
                      "(the sandbox evaluates only selectors of the world's metrics)")
    by_label: dict[str, list[Matcher]] = {}
    for m in found:
        if m.label != "__name__":
            by_label.setdefault(m.label, []).append(m)
    return [s for s in series if s.name == name and all(
        any(m.holds(s.labels[label]) for m in ms)
        for label, ms in by_label.items() if label in s.labels)]


def selector(text: str) -> list[Matcher]:
    """A `match[]` series selector's matchers, `__name__` included."""
    error = syntax_error(text)
    shape = _SELECTOR.fullmatch(text) if error is None else None
    if shape is None:
        raise BadData(f'invalid parameter "match[]": {error or _unexpected(text)}')
    name, block = shape.groups()
    found = ([Matcher("__name__", "=", name)] if name else []) + matchers(block or "")
    if all(m.holds("") for m in found):
        raise BadData('invalid parameter "match[]": match[] must contain at least one '
                      "non-empty matcher")
    return found


def _unexpected(text: str) -> str:
    head = re.match(r"\s*[A-Za-z_:][A-Za-z0-9_:]*\s*", text)
    at = head.end() if head else len(text) - len(text.lstrip())
    return f'1:{at + 1}: parse error: unexpected "{text[at:at + 1]}"'


def selects(found: list[Matcher], s: Series) -> bool:
    labels = {"__name__": s.name, **s.labels}
    return all(m.holds(labels.get(m.label, "")) for m in found)


def go_float(value: float) -> str:
    """A sample value as Prometheus writes it (Go's shortest 'f' format)."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return format(Decimal(repr(value)).normalize(), "f")


def go_exp(value: float) -> str:
    """An alert's value as Prometheus writes it (Go's shortest 'e' format: 7.12e-02)."""
    if value != value or value in (float("inf"), float("-inf")):
        return go_float(value)
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    if not any(digits):
        return "0e+00"
    power = exponent + len(digits) - 1
    text = "".join(map(str, digits))
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{'+' if power >= 0 else '-'}{abs(power):02d}"
