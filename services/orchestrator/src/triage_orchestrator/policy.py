"""Policy checks on the draft and on proposed actions. Pure functions, no I/O.

The model's output is treated as untrusted as the evidence it read: secrets are redacted,
emails masked, writes the skill does not allow are dropped, and prompt-injection signals
in the evidence mark any proposed write as suspicious (every write needs approval anyway;
the mark tells the approver to look twice).
"""

import re
from dataclasses import dataclass, field
from typing import Any

from triage_contracts.messages import Evidence, ProposedAction
from triage_contracts.redact import find_secrets, redact_text
from triage_contracts.tools import WRITE_TOOLS, check_arguments

from .slack_text import visible
from .state import Finding

INJECTION = re.compile(
    r"ignore\s+(?:(?:all|previous|prior|the|above|your)\s+)+instructions"
    r"|system\s+prompt|you\s+are\s+now|disregard"
    # Fake notes from the system or an admin, and instructions addressed to the agent.
    r"|\[\s*(?:system|admin|assistant|note\s+to\s+(?:the\s+)?(?:ai|assistant|bot))\b"
    r"|new\s+instructions|(?:message|instructions?)\s+(?:to|for)\s+(?:the\s+)?"
    r"(?:ai|assistant|bot|agent|triage\s+bot)\b",
    re.IGNORECASE,
)


def _signals(text: str) -> bool:
    # Invisible characters removed first: a zero-width space must not split a phrase
    # past this check, and text spelled in tag characters is read as plain text.
    return INJECTION.search(visible(_untag(text))) is not None


def _untag(text: str) -> str:
    """Unicode tag characters (U+E0020-U+E007E) mirror ASCII: spell out what they hide."""
    return "".join(chr(ord(c) - 0xE0000) if 0xE0020 <= ord(c) <= 0xE007E else c
                   for c in text)
_OUTPUT_HEAD = re.compile(r'<tool_output tool="([^"]+)" call="([^"]+)"')
EMAIL = re.compile(r"(?<![\w.+-])([\w.+-]+)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


@dataclass(frozen=True)
class ReviewedAction:
    action: ProposedAction
    suspicious: bool


@dataclass
class PolicyOutcome:
    draft: str
    actions: list[ReviewedAction] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def mask_emails(text: str) -> str:
    return EMAIL.sub(lambda m: f"{m.group(1)[:1]}***@{m.group(2)}", text)


def clean_text(text: str, where: str) -> tuple[str, list[Finding]]:
    """Redact secrets and mask emails in `text`; one finding per kind of change."""
    findings = []
    secrets = find_secrets(text)
    if secrets:
        text = redact_text(text)
        findings.append(Finding(code="secret", severity="block",
                                message=f"secret redacted from {where}: {', '.join(secrets)}"))
    masked = mask_emails(text)
    if masked != text:
        findings.append(Finding(code="email", severity="info",
                                message=f"email address masked in {where}"))
    return masked, findings


def injection_signals(evidence: list[Evidence], tool_outputs: list[str] | None = None
                      ) -> list[str]:
    """Where prompt-injection phrases were seen: evidence titles, or the tool outputs the
    model read (named by their tool and call)."""
    hits = []
    for item in evidence:
        text = " ".join([item.title, item.detail, str(item.attributes)])
        if _signals(text):
            hits.append(visible(item.title)[:80])
    for output in tool_outputs or []:
        if _signals(output) and (head := _OUTPUT_HEAD.search(output)):
            hits.append(f"output of {head.group(1)} ({head.group(2)})")
    return list(dict.fromkeys(hits))


def check_channel(channel_id: str, allowed: list[str]) -> Finding | None:
    if not allowed or channel_id in allowed:
        return None
    return Finding(code="channel", severity="block",
                   message=f"channel {channel_id} is not in ALLOWED_CHANNELS")


def _clean_arguments(arguments: dict[str, Any], findings: list[Finding]) -> dict[str, Any]:
    cleaned = {}
    for key, value in arguments.items():
        if isinstance(value, str):
            value, found = clean_text(value, f"proposed argument {key!r}")
            findings.extend(found)
        cleaned[key] = value
    return cleaned


def _review_action(
    action: ProposedAction, write_tools: list[str], repos: list[str], findings: list[Finding]
) -> ProposedAction | None:
    if action.tool not in write_tools or action.tool not in WRITE_TOOLS:
        findings.append(Finding(
            code="disallowed_tool", severity="block",
            message=f"proposed {action.tool} dropped: not allowed by the skill"))
        return None
    problem = check_arguments(action.tool, action.arguments)
    repo = action.arguments.get("repo")
    if problem is None and repos and repo not in repos:
        problem = f"repo {repo!r} is not one of this workspace's repos"
    if problem:
        findings.append(Finding(code="invalid_action", severity="block",
                                message=f"proposed {action.tool} dropped: {problem}"))
        return None
    arguments = _clean_arguments(action.arguments, findings)
    summary, _ = clean_text(action.summary, "action summary")
    return ProposedAction(tool=action.tool, arguments=arguments, summary=summary)


def review(
    draft: str,
    evidence: list[Evidence],
    actions: list[ProposedAction],
    write_tools: list[str],
    repos: list[str],
    question: str = "",
    tool_outputs: list[str] | None = None,
) -> PolicyOutcome:
    cleaned, findings = clean_text(draft, "the draft")
    outcome = PolicyOutcome(draft=cleaned, findings=findings)
    signals = injection_signals(evidence, tool_outputs or [])
    if signals:
        outcome.findings.append(Finding(
            code="injection", severity="warning",
            message="some fetched data contained instructions aimed at the agent (ignored): "
                    + "; ".join(signals[:3])))
    # The asker can try it too: a write the question itself steered is just as suspicious.
    if _signals(question):
        signals.append("the question")
        outcome.findings.append(Finding(
            code="injection", severity="warning",
            message="prompt-injection signals in the question"))
    for action in actions:
        kept = _review_action(action, write_tools, repos, outcome.findings)
        if kept is not None:
            outcome.actions.append(ReviewedAction(kept, suspicious=bool(signals)))
    return outcome
