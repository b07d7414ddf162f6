"""A long answer: several messages in the thread, in order, one notify step each, then its
raw evidence as a file; every message within Slack's limits."""

from typing import Any

from triage_contracts.messages import Evidence, NotifyKind
from triage_orchestrator import engine
from triage_orchestrator.commands import EmitAudit, PublishNotify
from triage_orchestrator.evidence_file import CUT_NOTE, FILE_LIMIT, evidence_file
from triage_orchestrator.reply_pages import BLOCK_LIMIT, MESSAGE_CHARS, TEXT_LIMIT, paginate
from triage_orchestrator.split import SECTION_LIMIT
from triage_orchestrator.state import RunState, RunStatus

from .factories import NOW, notify_result
from .flows import investigated, of

PARAGRAPH = ("CI run #57 of checkout-api failed at the integration stage after commit abc1234 "
             "changed the payment client's timeout; the retries then exhausted the pool. ")
LONG = "\n\n".join(f"{n}. {PARAGRAPH * 3}" for n in range(1, 90))  # ~40,000 characters


def _within_limits(notify: PublishNotify) -> None:
    message = notify.message
    assert len(message.blocks) <= BLOCK_LIMIT and len(message.text) <= TEXT_LIMIT
    texts = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    assert all(len(text) <= SECTION_LIMIT for text in texts)


def _post_all(state: RunState) -> tuple[RunState, list[PublishNotify], list[Any]]:
    """Answer each notify step as Slack would until the run stops sending."""
    sent: list[PublishNotify] = []
    [pending] = [p.command for p in state.pending.values()]
    effects: list[Any] = []
    while isinstance(pending, PublishNotify):
        sent.append(pending)
        state, effects = engine.on_result(
            state, notify_result(state.run_id, pending.message.step_id,
                                 ts=f"1700000001.{len(sent):06}"), now=NOW)
        pending = next(iter(of(effects, PublishNotify)), None)
    return state, sent, effects


def test_a_long_answer_is_posted_whole_in_several_messages_then_its_evidence_file() -> None:
    state, effects = investigated(answer=LONG)
    (first,) = of(effects, PublishNotify)
    assert first.message.step_id == "reply"
    done, sent, effects = _post_all(state)
    messages, (attached,) = sent[:-1], sent[-1:]
    assert [m.message.step_id for m in messages] == [
        "reply", *(f"reply-{n}" for n in range(2, len(messages) + 1))]
    assert len(messages) == 4  # 40,000 characters at 12,000 a message
    for notify in messages:
        _within_limits(notify)
    shown = " ".join(b["text"]["text"] for m in messages for b in m.message.blocks
                     if b["type"] == "section")
    assert all(f"{n}. CI run #57" in shown for n in range(1, 90))  # nothing lost
    assert [b.get("block_id") for b in messages[-1].message.blocks].count("feedback") == 1
    assert all(b.get("block_id") != "feedback" for m in messages[:-1] for b in m.message.blocks)
    assert attached.message.notify_kind is NotifyKind.FILE and attached.message.file
    assert attached.message.step_id == "reply-evidence"
    assert attached.message.file.filename == f"evidence-{state.run_id}.txt"
    assert "== Tool output 1" in attached.message.file.content
    assert done.status is RunStatus.DONE and done.posted_ts == "1700000001.000001"
    assert [a.outcome for a in of(effects, EmitAudit) if a.action == "evidence file"] == ["ok"]


def test_a_short_answer_is_one_message_and_no_file() -> None:
    state, _ = investigated()
    done, sent, _ = _post_all(state)
    assert [m.message.step_id for m in sent] == ["reply"] and done.status is RunStatus.DONE


def test_a_part_slack_refuses_fails_the_run_and_names_the_part() -> None:
    state, _ = investigated(answer=LONG)
    state, effects = engine.on_result(state, notify_result(state.run_id, "reply"), now=NOW)
    (second,) = of(effects, PublishNotify)
    failed, effects = engine.on_result(
        state, notify_result(state.run_id, second.message.step_id, ok=False), now=NOW)
    assert failed.status is RunStatus.FAILED
    assert failed.error == "part 2 of the reply could not be posted: channel_not_found"
    assert of(effects, PublishNotify) == []


def test_a_failed_upload_leaves_the_answer_done() -> None:
    state, _ = investigated(answer=LONG)
    for n in range(1, 5):
        step = "reply" if n == 1 else f"reply-{n}"
        state, _ = engine.on_result(state, notify_result(state.run_id, step), now=NOW)
    done, effects = engine.on_result(
        state, notify_result(state.run_id, "reply-evidence", ok=False), now=NOW)
    assert done.status is RunStatus.DONE
    assert [a.outcome for a in of(effects, EmitAudit) if a.action == "evidence file"] == [
        "error"]


def test_pages_respect_the_block_limit_with_many_short_sections() -> None:
    pages = paginate([f"line {n}" for n in range(200)], [{"type": "divider"}] * 2)
    assert len(pages) == 5 and all(len(p.blocks) <= BLOCK_LIMIT for p in pages)
    assert pages[-1].blocks[-2:] == [{"type": "divider"}] * 2
    assert pages[1].blocks[0]["type"] == "context"  # "continued, 2 of 5"


def test_pages_respect_the_character_budget() -> None:
    pages = paginate(["x" * SECTION_LIMIT] * 9, [])
    assert [len(p.blocks) for p in pages] == [4, 5, 2]  # 4 + 4 + 1, "continued" on later ones
    assert all(sum(len(b.get("text", {}).get("text", "")) for b in p.blocks
                   if b["type"] == "section") <= MESSAGE_CHARS for p in pages)


def test_the_evidence_file_is_redacted_bounded_and_plain() -> None:
    state, _ = investigated(answer=LONG)
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    state.evidence.append(Evidence(source="github.log", title="job log",
                                   detail=f"export GITHUB_TOKEN={token}\x1b[31m red\x00"))
    state.evidence.append(Evidence(source="github.log", title="huge", detail="é" * 400_000))
    attached = evidence_file(state, answer_sections=2)
    assert attached is not None
    assert token not in attached.content and "[REDACTED:" in attached.content
    assert "\x1b" not in attached.content and "\x00" not in attached.content
    assert len(attached.content.encode()) <= FILE_LIMIT + len(CUT_NOTE)
    assert attached.content.endswith(CUT_NOTE)
    assert evidence_file(state, answer_sections=1) is None  # a short answer: no file
