"""Block Kit and mrkdwn rendering of the channel page: readable, and never a way to inject
markup or script into the page."""

from triage_sandbox.blockkit import blocks, message_html, mrkdwn

NAMES = {"U_APPROVER": "Avery", "UBOT": "triage"}


def test_mrkdwn_formats_like_slack() -> None:
    html = mrkdwn("*Approved by <@U_APPROVER>* — see <https://ci.example/run/6|CI `#6`>\n"
                  "> quoted\n> twice\n_it_ ~gone~ :warning:", NAMES)
    assert html.startswith('<b>Approved by <span class="mention">@Avery</span></b>')
    assert '<a href="https://ci.example/run/6" target="_blank" rel="noopener noreferrer">' \
           'CI <code>#6</code></a>' in html
    assert "<blockquote>quoted<br>twice</blockquote>" in html
    assert "<i>it</i> <s>gone</s> ⚠️" in html


def test_code_blocks_and_slack_escapes() -> None:
    assert mrkdwn("```a < b\n*no bold*```") == "<pre>a &lt; b\n*no bold*</pre>"
    assert mrkdwn("1 &lt; 2 &amp;&amp; 3 &gt; 2") == "1 &lt; 2 &amp;&amp; 3 &gt; 2"


def test_nothing_from_a_message_becomes_markup() -> None:
    html = mrkdwn('<script>alert(1)</script> <javascript:alert(1)|click> "<img onerror=x>"'
                  " \ue0000\ue001")
    assert "<script" not in html and "<img" not in html and "href" not in html
    button = blocks([{"type": "actions", "block_id": 'b"><x', "elements": [
        {"type": "button", "action_id": "a", "value": '"><script>',
         "text": {"type": "plain_text", "text": "<b>Go</b>"}}]}])
    assert "<script>" not in button and "<x" not in button and "<b>Go" not in button
    assert 'data-value="&quot;&gt;&lt;script&gt;"' in button


def test_blocks_render_sections_context_dividers_and_buttons() -> None:
    html = blocks([
        {"type": "header", "text": {"type": "plain_text", "text": "Triage"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Draft*"},
         "fields": [{"type": "mrkdwn", "text": "`e15da5d`"}]},
        {"type": "divider"},
        {"type": "actions", "block_id": "approval:ap-1", "elements": [
            {"type": "button", "action_id": "approval_approve", "style": "primary",
             "value": "ap-1", "text": {"type": "plain_text", "text": "Approve"}}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "run <@UBOT>"}]},
        {"type": "video"},
    ], NAMES)
    assert '<div class="bk-header">Triage</div>' in html
    assert "<b>Draft</b>" in html and "<code>e15da5d</code>" in html
    assert '<hr class="bk-divider">' in html
    assert ('<button type="button" class="bk-button primary" data-action-id="approval_approve"'
            ' data-block-id="approval:ap-1" data-value="ap-1">Approve</button>') in html
    assert '<div class="bk-context"><span>run <span class="mention">@triage</span>' in html
    assert "[unsupported block: video]" in html


def test_a_message_without_blocks_shows_its_text() -> None:
    assert message_html({"text": "hi <@U_APPROVER>", "blocks": []}, NAMES) == (
        '<div class="bk-text">hi <span class="mention">@Avery</span></div>')
