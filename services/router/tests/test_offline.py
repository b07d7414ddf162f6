"""The offline provider as a pure function: exact citations, determinism, edge cases."""

from triage_router.providers.offline import classify, complete_offline


def test_answer_cites_every_fact_with_its_link(make_call, expected_answer: str) -> None:
    completion = complete_offline(make_call())
    assert completion.content == expected_answer
    assert completion.completion_tokens == len(expected_answer) // 4
    assert completion.prompt_tokens > 100


def test_same_input_gives_byte_identical_output(make_call) -> None:
    call = make_call()
    first, second = complete_offline(call), complete_offline(call.model_copy())
    assert first.content.encode() == second.content.encode()
    assert first.proposed_actions == second.proposed_actions


def test_comment_is_proposed_only_when_offered_and_explained(make_call) -> None:
    [action] = complete_offline(make_call()).proposed_actions
    assert action.tool == "github.comment_issue"
    assert action.summary == "Comment on demo-org/checkout-api#42"
    assert action.arguments["repo"] == "demo-org/checkout-api"
    assert action.arguments["issue_number"] == 42
    body = action.arguments["body"]
    assert "[CI #57](https://github.com/demo-org/checkout-api/actions/runs/9001)" in body
    assert "https://github.com/demo-org/checkout-api/commit/abc1234def5678" in body
    assert complete_offline(make_call(tools=False)).proposed_actions == []


def test_without_failing_run_no_write_and_no_blame(make_call, evidence) -> None:
    passing = [e for e in evidence if e["source"] != "github.workflow_run"]
    completion = complete_offline(make_call(evidence=passing))
    assert "*CI:*" not in completion.content
    # Without a failing run the newest commit is shown, but not blamed.
    assert "• *Most recent change:* <https://github.com/demo-org/checkout-api/commit/" \
        "0ff1ce0ff1ce|`0ff1ce0`> Bump docs (lee)" in completion.content
    assert "*Likely cause:* not determined" in completion.content
    assert completion.proposed_actions == []


def test_tool_output_cannot_forge_slack_links(make_call, evidence) -> None:
    evidence[4]["title"] = "<https://evil.example|click me> & <!channel>"
    evidence[0]["url"] = "javascript:alert(1)"
    content = complete_offline(make_call(evidence=evidence)).content
    assert "&lt;https://evil.example|click me&gt; &amp; &lt;!channel&gt;" in content
    assert "javascript:" not in content and "• *CI:* CI #57 failed" in content


def test_malformed_evidence_items_are_skipped(make_call, evidence, expected_answer) -> None:
    evidence.insert(0, {"source": "github.commit"})  # no title: not an Evidence
    assert complete_offline(make_call(evidence=evidence)).content == expected_answer


def test_no_evidence_says_so_and_names_the_sources(make_call) -> None:
    content = complete_offline(make_call(evidence=[])).content
    assert content.startswith("*Triage:* why is checkout-api failing?\n")
    assert "I found no evidence in the connected sources for this question" in content
    assert "GitHub CI runs" in content and "Prometheus" in content
    assert complete_offline(make_call(evidence=[])).proposed_actions == []


def test_classify_picks_first_listed_skill_whose_keyword_appears() -> None:
    system = "Pick a skill.\n- incident: failing, 5\\d\\d, outage\n- change-review: what changed"
    assert classify(system, "why is checkout failing?") == "incident"
    assert classify(system, "what changed since Monday?") == "change-review"
    assert classify(system, "hello there") == "general"


def test_what_changed_lists_recent_commits_and_the_latest_ci_run(make_call, evidence) -> None:
    passing = []
    for item in evidence:
        if item["source"] == "github.workflow_run":
            item = {**item, "attributes": {**item["attributes"], "conclusion": "success"}}
        passing.append(item)
    content = complete_offline(make_call(evidence=passing)).content
    commits = [e for e in passing if e["source"] == "github.commit"]
    assert len(commits) >= 2
    for commit in commits:  # every commit is cited, newest first as the headline
        assert commit["attributes"]["sha"][:7] in content
    assert "• *CI:* latest" in content and "success" in content
    assert complete_offline(make_call(evidence=passing)).proposed_actions == []
