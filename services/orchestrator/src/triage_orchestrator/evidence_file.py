"""The raw evidence of a long answer as a text file for the thread. Pure.

A long answer (more than one section) cites more than its message can show: the file
holds everything the run fetched, the evidence list with its details and every tool
output the model read, redacted again (tool outputs were redacted when produced; the
second pass costs little and guards the file against a connector that forgot). A short
answer gets no file: the thread stays light where the message already says it all.
"""

import re

from triage_contracts.messages import NotifyFile
from triage_contracts.redact import redact_text

from .state import RunState

# Bytes of UTF-8: with control characters (other than newline and tab) dropped, JSON escaping
# at most doubles them, so the notify message stays under NATS' default 1 MB payload limit.
FILE_LIMIT = 300_000
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
CUT_NOTE = "\n[cut: the file's limit was reached]\n"


def evidence_file(state: RunState, answer_sections: int) -> NotifyFile | None:
    """The file to attach, or None (refusals, short answers, nothing fetched)."""
    outputs = _tool_outputs(state)
    if state.refused or answer_sections <= 1 or not (state.evidence or outputs):
        return None
    text = _CONTROL.sub("", redact_text("\n".join([*_header(state), *_evidence(state),
                                                     *outputs])))
    data = text.encode()
    if len(data) > FILE_LIMIT:
        text = data[:FILE_LIMIT].decode(errors="ignore") + CUT_NOTE
    return NotifyFile(filename=f"evidence-{state.run_id}.txt",
                      title="Evidence behind this answer", content=text)


def _header(state: RunState) -> list[str]:
    return [f"Evidence for run {state.run_id} (secrets redacted)",
            f"Question: {' '.join(state.request.text.split())}", ""]


def _evidence(state: RunState) -> list[str]:
    lines = [f"== Evidence ({len(state.evidence)})"]
    for item in state.evidence:
        lines.append(f"- {item.source}: {item.title}" + (f" <{item.url}>" if item.url else ""))
        if item.detail:
            lines.append(f"  {item.detail}")
    return [*lines, ""]


def _tool_outputs(state: RunState) -> list[str]:
    inv = state.investigation
    outputs = [m.content for m in inv.messages if m.role == "tool"] if inv else []
    return [line for n, content in enumerate(outputs, 1)
            for line in (f"== Tool output {n}", content, "")]
