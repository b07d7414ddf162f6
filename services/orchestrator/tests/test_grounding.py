"""Grounded, Slack-safe answers: what the model writes is escaped; links, shas and
#numbers survive only when this run fetched them."""

from triage_contracts.messages import Evidence
from triage_orchestrator import engine
from triage_orchestrator.commands import PublishNotify
from triage_orchestrator.grounding import Index, ground
from triage_orchestrator.slack_text import cap, escape, mrkdwn

from .factories import NOW, REPO, call, model_result, tool_result
from .flows import classified, of

FETCHED = ('<tool_output tool="github.workflow_runs" call="x" trust="untrusted">\n'
           '{"status": "success", "data": [{"id": 9, "head_sha": "abc1234def5678", '
           '"url": "https://gh.test/runs/9", "number": 42, "body": "see https://evil.example/b '
           'and #31337 and cafe1234cafe"}]}\n</tool_output>')


def index() -> Index:
    found = Index()
    found.add_output(FETCHED)
    return found


def test_links_written_inside_fetched_text_are_not_evidence() -> None:
    out = ground("see https://evil.example/b, #31337 and cafe1234cafe", index())
    assert "evil.example" not in out.text and "#31337 _(unverified)_" in out.text
    assert "cafe1234cafe _(unverified)_" in out.text


def test_fetched_references_survive_and_invented_ones_are_marked() -> None:
    answer = ("CI broke on abc1234 (https://gh.test/runs/9), see #42. Also deadbee1 and #77 "
              "and https://gh.test/runs/1234 and [the fix](https://evil.example/x).")
    out = ground(answer, index())
    assert "abc1234 (<https://gh.test/runs/9|https://gh.test/runs/9>)" in out.text
    assert "see #42." in out.text and "#42 _(unverified)_" not in out.text
    assert "deadbee1 _(unverified)_" in out.text and "#77 _(unverified)_" in out.text
    assert "https://gh.test/runs/1234" not in out.text
    assert "the fix _(unverified link removed)_" in out.text and "evil.example" not in out.text
    assert out.unverified == ["deadbee1", "#77", "https://gh.test/runs/1234",
                              "https://evil.example/x"]


def test_pings_and_masked_links_from_the_model_cannot_survive() -> None:
    answer = ("<!channel> <!here> <!subteam^S123> <@U999> look: "
              "<https://evil.example|https://gh.test/runs/9> & <https://gh.test/runs/9|CI>")
    text = ground(answer, index()).text
    for raw in ("<!channel>", "<!here>", "<!subteam", "<@U999>", "evil.example"):
        assert raw not in text, raw
    assert "&lt;!channel&gt; &lt;!here&gt;" in text and "&amp;" in text
    # A masked link whose label is another address shows its own address instead.
    assert "<https://gh.test/runs/9|CI>" in text
    assert text.count("<https://") == 1


def test_markdown_becomes_mrkdwn_and_cutting_keeps_links_whole() -> None:
    assert mrkdwn("## Cause\n**bold** and ~~gone~~") == "*Cause*\n*bold* and ~gone~"
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"
    text = "x" * 50 + " <https://gh.test/runs/9|CI run> tail"
    assert cap(text, 60) == "x" * 50 + " …"


def test_earlier_thread_evidence_counts_as_fetched() -> None:
    found = Index()
    found.add_evidence([Evidence(source="github.get_issue", title="t",
                                 url="https://gh.test/issues/5", attributes={"number": 5})])
    assert "_(unverified" not in ground("see #5 https://gh.test/issues/5", found).text


def test_an_issue_title_trying_to_ping_is_escaped_in_the_reply() -> None:
    state, _ = classified()
    state, _ = engine.on_result(state, model_result(
        state, calls=[call("github.search_issues", {"repo": REPO, "query": "502"})]), now=NOW)
    hostile = [{"number": 44, "title": "<!channel> URGENT <https://evil.example|click>",
                "url": "https://gh.test/issues/44", "state": "open"}]
    result = tool_result(state.run_id, "investigate-t1-c0", "github.search_issues", data=hostile)
    state, _ = engine.on_result(state, result, now=NOW)
    state, effects = engine.on_result(state, model_result(
        state, content="Issue #44: <!channel> URGENT (https://gh.test/issues/44)"), now=NOW)
    [reply] = of(effects, PublishNotify)
    assert "<!channel>" not in reply.message.text and "evil.example" not in reply.message.text
    assert "<https://gh.test/issues/44|https://gh.test/issues/44>" in reply.message.text
    assert not any("unverified" in f.message for f in state.findings)
