"""The reply step: the answer posted in the asking thread, in one message or several
(`reply_pages.py`), then, for a long answer, its raw evidence as a file
(`evidence_file.py`).

Each message and the file is its own notify step with a deterministic id (`reply`,
`reply-2`, …, `reply-evidence`), sent only once the one before it is posted, so the thread
reads in order and the notifier's per-step claim keeps each exactly once. The pages and
the file are rendered again from the state for every step: nothing they depend on changes
while the reply step runs, and the run state does not carry them twice.
"""

from typing import Any

from triage_contracts.messages import (
    AuditKind,
    NotifyFile,
    NotifyKind,
    NotifyRequest,
    NotifyResult,
)
from triage_contracts.redact import redact_text

from . import render
from .commands import PublishNotify, RecordThread, ThreadContext, cmd_id
from .context import Ctx
from .evidence_file import evidence_file
from .spec import Step
from .split import sections
from .state import RunState, RunStatus

THREAD_EVIDENCE = 30
FILE_SUFFIX = "evidence"
FILE_COMMENT = "The raw evidence behind this answer (secrets redacted)."


def page_step(step: Step, n: int) -> str:
    return step.id if n == 1 else f"{step.id}-{n}"


def _page_number(step: Step, step_id: str) -> int | None:
    if step_id == step.id:
        return 1
    tail = step_id.removeprefix(f"{step.id}-")
    return int(tail) if tail.isdigit() else None


def enter_reply(state: RunState, step: Step, ctx: Ctx) -> bool:
    # The thread is remembered BEFORE the answer can appear in Slack: a reply typed the
    # moment the answer shows is then already a follow-up (the record is stored before
    # this state is saved, so a crash cannot lose it either).
    _remember_thread(state, ctx)
    _send_page(state, step, 1, ctx)
    return True


def _request(state: RunState, step_id: str, kind: NotifyKind, text: str,
             blocks: list[dict[str, Any]] | None = None, file: NotifyFile | None = None,
             response_url: str | None = None) -> NotifyRequest:
    request = state.request
    return NotifyRequest(
        team_id=state.team_id, run_id=state.run_id, step_id=step_id, notify_kind=kind,
        enterprise_id=request.enterprise_id, channel_id=request.channel_id,
        thread_ts=request.thread_ts, text=text, blocks=blocks or [], file=file,
        response_url=response_url)


def _send_page(state: RunState, step: Step, n: int, ctx: Ctx) -> None:
    page = render.reply(state)[n - 1]
    step_id = page_step(step, n)
    # Only the first message may go through a slash command's response_url: the later
    # ones follow it wherever it went (the notifier falls back per message).
    message = _request(state, step_id, NotifyKind.REPLY, page.text, page.blocks,
                       response_url=state.request.response_url)
    ctx.send(state, step.id, step_id,
             PublishNotify(message=message, msg_id=cmd_id(state.run_id, step_id)))


def _send_file(state: RunState, step: Step, ctx: Ctx) -> bool:
    attached = evidence_file(state, len(sections(render.answer_text(state))))
    if attached is None:
        return False
    step_id = f"{step.id}-{FILE_SUFFIX}"
    message = _request(state, step_id, NotifyKind.FILE, FILE_COMMENT, file=attached)
    ctx.send(state, step.id, step_id,
             PublishNotify(message=message, msg_id=cmd_id(state.run_id, step_id)))
    return True


def on_reply_result(state: RunState, step: Step, result: NotifyResult, ctx: Ctx) -> None:
    n = _page_number(step, result.step_id)
    if n is None:  # the evidence file: the answer is out whatever became of it
        _file_done(state, result, ctx)
        _finish_run(state, RunStatus.DONE, ctx)
        return
    if not result.ok:
        _failed(state, result, n, ctx)
        return
    if n == 1:
        state.posted_ts = result.ts
    if n < len(render.reply(state)):
        _send_page(state, step, n + 1, ctx)
    elif not _send_file(state, step, ctx):
        _finish_run(state, RunStatus.DONE, ctx)


def _failed(state: RunState, result: NotifyResult, n: int, ctx: Ctx) -> None:
    which = "the reply" if n == 1 else f"part {n} of the reply"
    state.error = redact_text(f"{which} could not be posted: {result.error}")
    if n == 1:
        _unremember_thread(state, ctx)
    _finish_run(state, RunStatus.FAILED, ctx)


def _file_done(state: RunState, result: NotifyResult, ctx: Ctx) -> None:
    # A step of the run, not a post: the notifier audits the upload itself (NOTIFY, with
    # where it went); the run records that its reply is complete, file or no file.
    ctx.audit(state, AuditKind.STEP, "evidence file", "reply:evidence-file",
              outcome="ok" if result.ok else "error", detail={"error": result.error})


def _finish_run(state: RunState, status: RunStatus, ctx: Ctx) -> None:
    state.status = status
    inv = state.investigation
    ctx.audit(state, AuditKind.STEP, "run finished", "run:finished",
              outcome=state.status.value,
              detail={"cost_usd_total": round(state.cost_usd, 6),
                      "tool_calls": state.counters.tool_calls,
                      "model_calls": state.counters.model_calls,
                      "turns": inv.turn if inv else 0,
                      "stopped": inv.stopped if inv else None,
                      "skill": state.skill.name if state.skill else None,
                      "skill_sha256": state.skill.sha256 if state.skill else None,
                      "posted_ts": state.posted_ts, "error": state.error})


def _remember_thread(state: RunState, ctx: Ctx) -> None:
    request = state.request
    if state.refused or not request.thread_ts:
        return
    earlier = state.thread
    record = ThreadContext(
        run_id=state.run_id, question=redact_text(request.text)[:2_000],
        answer=redact_text(state.draft)[:4_000], evidence=state.evidence[:THREAD_EVIDENCE],
        follow_ups=earlier.follow_ups + 1 if earlier else 0)
    ctx.out.append(RecordThread(team_id=state.team_id, channel_id=request.channel_id,
                                thread_ts=request.thread_ts, record=record))


def _unremember_thread(state: RunState, ctx: Ctx) -> None:
    """The answer never reached Slack: the thread goes back to what it held before (or
    to no record, so replies there are not taken for follow-ups of an unseen answer)."""
    request = state.request
    if state.refused or not request.thread_ts:
        return
    ctx.out.append(RecordThread(team_id=state.team_id, channel_id=request.channel_id,
                                thread_ts=request.thread_ts, record=state.thread))
