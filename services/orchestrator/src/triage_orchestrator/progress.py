"""What the run is doing now, told to the asker while it works: one status per turn of
tool calls ("Reading CI runs and commits…"), shown in the asking thread (Slack's assistant
status; the answer replaces it). Pure.

A status is not awaited: one that never shows costs nothing, so it is neither pending nor
re-sent after a crash (its msg_id still dedupes a redone transition).
"""

from triage_contracts.messages import NotifyKind, NotifyRequest, TriageRequest

from .commands import PublishNotify, cmd_id
from .context import Ctx
from .spec import Step
from .state import RunState

# What a tool reads, in the words of the status line (by name prefix, first match wins).
READS = (
    ("github.workflow", "CI runs"), ("github.job_log", "CI logs"),
    ("github.commit_pulls", "pull requests"), ("github.get_pull", "pull requests"),
    ("github.recent_commits", "commits"), ("github.compare", "commits"),
    ("github.get_issue", "issues"), ("github.list_issues", "issues"),
    ("github.search_issues", "issues"), ("github.search_code", "code"),
    ("output.page", "earlier output"), ("prometheus.alerts", "alerts"),
    ("prometheus", "metrics"), ("alertmanager", "alerts"),
)


def progress_text(tools: list[str]) -> str:
    """"Reading CI runs, commits and metrics…" for the tools of one turn."""
    things = list(dict.fromkeys(next((word for prefix, word in READS
                                      if tool.startswith(prefix)), "GitHub")
                                for tool in tools))
    listed = things[0] if len(things) == 1 else f"{', '.join(things[:-1])} and {things[-1]}"
    return f"Reading {listed}…"


def show_progress(state: RunState, step: Step, tools: list[str], ctx: Ctx) -> None:
    inv = state.investigation
    if not tools or not state.request.thread_ts or inv is None:
        return
    _status(state, f"{step.id}-t{inv.turn}-status", progress_text(tools), ctx)


# A request that waited this long before its run started may have been told "Queued behind
# N questions" by the edge: the run says it has started instead of leaving that up until
# its first turn of tool calls.
WAITED_S = 3.0
STARTED = "Reading your question…"


def show_started(state: RunState, ctx: Ctx) -> None:
    request = state.request
    if request.thread_ts and waited(request, ctx) >= WAITED_S:
        _status(state, "start-status", STARTED, ctx)


def waited(request: TriageRequest, ctx: Ctx) -> float:
    return (ctx.now - request.created_at).total_seconds()


def _status(state: RunState, step_id: str, text: str, ctx: Ctx) -> None:
    request = state.request
    message = NotifyRequest(
        team_id=state.team_id, enterprise_id=request.enterprise_id, run_id=state.run_id,
        step_id=step_id, notify_kind=NotifyKind.STATUS, channel_id=request.channel_id,
        thread_ts=request.thread_ts, text=text)
    ctx.out.append(PublishNotify(message=message, msg_id=cmd_id(state.run_id, message.step_id)))
