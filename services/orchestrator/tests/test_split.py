"""Long answers cut into Slack sections: many random answers made of the things a reply
holds (words, links, mentions, entities, code fences, blank lines), checked for the
splitter's promises."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from triage_orchestrator.slack_text import escape, link
from triage_orchestrator.split import FENCE, pieces, sections

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.,:-", min_size=1, max_size=30)
LINK = st.builds(lambda n, t: link(f"https://gh.test/o/r/pull/{n}", t),
                 st.integers(1, 10**6), st.text(min_size=1, max_size=60))
ENTITY = st.sampled_from(["&amp;", "&lt;", "&gt;", escape("a<b>&c")])
MENTION = st.sampled_from(["<@U123ABC>", "<#C42|ops>", "<!subteam^S1>"])
SEP = st.sampled_from([" ", " ", " ", "\n", "\n\n"])
CODE = st.lists(WORD, min_size=1, max_size=80).map(
    lambda words: f"\n{FENCE}\n" + "\n".join(words) + f"\n{FENCE}\n")
TOKEN = st.one_of(WORD, WORD, WORD, LINK, ENTITY, MENTION, CODE)
ANSWER = st.lists(st.tuples(TOKEN, SEP), max_size=400).map(
    lambda parts: "".join(token + sep for token, sep in parts))
LIMITS = st.sampled_from([200, 500, 3_000])
UNBREAKABLE = re.compile(r"<[^<>\n]*>|&(?:[A-Za-z]+|#\d+);")


def _cuts(chunks: list[str]) -> list[int]:
    at, out = 0, []
    for chunk in chunks[:-1]:
        at += len(chunk)
        out.append(at)
    return out


@settings(max_examples=300, deadline=None)
@given(ANSWER, LIMITS)
def test_pieces_join_back_to_the_answer_within_the_limit(text: str, limit: int) -> None:
    chunks = pieces(text, limit)
    assert "".join(chunks) == text
    assert all(0 < len(chunk) <= limit for chunk in chunks)


@settings(max_examples=300, deadline=None)
@given(ANSWER, LIMITS)
def test_no_cut_inside_a_link_a_mention_or_an_entity(text: str, limit: int) -> None:
    spans = [m.span() for m in UNBREAKABLE.finditer(text)]
    for cut in _cuts(pieces(text, limit)):
        assert not any(start < cut < end for start, end in spans), text[cut - 20:cut + 20]


@settings(max_examples=300, deadline=None)
@given(ANSWER, LIMITS)
def test_sections_are_within_the_limit_and_each_fence_is_closed(text: str, limit: int) -> None:
    out = sections(text, limit)
    assert all(0 < len(s) <= limit and s.strip() for s in out)
    assert all(s.count(FENCE) % 2 == 0 for s in out)
    assert _words(" ".join(out)) == _words(text)  # nothing lost, nothing added but fences


def _words(text: str) -> list[str]:
    return [w for w in text.split() if w != FENCE]


def test_a_short_answer_is_one_section_as_it_was() -> None:
    assert sections("Checkout fails since *abc1234*.\n\nRe-run CI.") == [
        "Checkout fails since *abc1234*.\n\nRe-run CI."]


def test_cuts_prefer_paragraphs_then_lines_then_spaces() -> None:
    para, short = "a" * 50, "c" * 20
    assert pieces(f"{para}\n\n{short} b\n{short}", 80) == [f"{para}\n\n", f"{short} b\n{short}"]
    assert pieces(f"{para} b\n{para} c", 80) == [f"{para} b\n", f"{para} c"]
    assert pieces(f"{para} {para}", 80) == [f"{para} ", para]


def test_a_long_code_block_is_cut_at_a_line_end_and_reopened() -> None:
    code = "\n".join(f"line {i:03}" for i in range(120))
    out = sections(f"Logs:\n{FENCE}\n{code}\n{FENCE}\nDone.", 300)
    assert len(out) > 2
    assert out[1].startswith(f"{FENCE}\nline") and out[0].endswith(f"\n{FENCE}")
    assert all(re.fullmatch(r"line \d{3}", line) for s in out[1:-1]
               for line in s.split("\n") if line != FENCE)


def test_an_entity_at_the_limit_moves_whole_to_the_next_piece() -> None:
    text = "x" * 8 + "&amp;" + "y" * 5
    assert pieces(text, 10) == ["x" * 8, "&amp;yyyyy"]
