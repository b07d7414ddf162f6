"""The offline provider: a deterministic, extractive "model" that needs no vendor and no key.

It reads the prompt format the orchestrator builds (`<question>` and a JSON `<evidence>`
list) and answers from the evidence alone, citing every fact with its link. Same input,
byte-identical output: the agent is usable and testable without any model, and an eval can
compare answers exactly. It never sees keys and has no I/O.
"""

import json
import re

from pydantic import ValidationError
from triage_contracts.messages import Evidence, ModelCall

from ..routes import Target
from .base import Completion
from .extractive import Findings, answer, comment_action, find

MODEL = "offline-extractive-1"
CLASSIFY_ROUTE = "classify"
COMMENT_TOOL = "github.comment_issue"
_SKILL_LINE = re.compile(r"^\s*[-*•]?\s*([A-Za-z0-9_.-]+)\s*:\s*(.+?)\s*$")


class OfflineProvider:
    name = "offline"

    async def complete(self, call: ModelCall, target: Target) -> Completion:
        return complete_offline(call)

    async def aclose(self) -> None:
        return None


def complete_offline(call: ModelCall) -> Completion:
    """The pure function behind the provider (no awaits, no clock, no randomness)."""
    text = _last(call, "user")
    question = _tag(text, "question") or text.strip()
    if call.route == CLASSIFY_ROUTE:
        content = classify(_last(call, "system"), question)
        actions = []
    else:
        evidence = parse_evidence(text)
        findings = find(evidence)
        content = answer(question, findings, _sources(text, evidence))
        offered = any(tool.name == COMMENT_TOOL for tool in call.tools)
        action = comment_action(findings) if offered else None
        actions = [action] if action else []
    prompt_chars = sum(len(m.content) for m in call.messages)
    return Completion(content=content, proposed_actions=actions,
                      prompt_tokens=prompt_chars // 4, completion_tokens=len(content) // 4)


def classify(system_prompt: str, text: str) -> str:
    """The first skill listed as `- name: keyword, keyword` whose keyword appears."""
    for line in system_prompt.splitlines():
        match = _SKILL_LINE.match(line)
        if match and any(_mentions(text, kw) for kw in match.group(2).split(",")):
            return match.group(1)
    return "general"


def parse_evidence(text: str) -> list[Evidence]:
    """Evidence items from the `<evidence>` JSON list; invalid items are left out."""
    raw = _tag(text, "evidence")
    if not raw:
        return []
    try:
        items = json.loads(raw)
    except json.JSONDecodeError:
        return []
    evidence: list[Evidence] = []
    for item in items if isinstance(items, list) else []:
        try:
            evidence.append(Evidence.model_validate(item))
        except ValidationError:
            continue  # untrusted tool output: a malformed item must not sink the answer
    return evidence


def _mentions(text: str, keyword: str) -> bool:
    keyword = keyword.strip()
    if not keyword:
        return False
    try:
        return re.search(keyword, text, re.IGNORECASE) is not None
    except re.error:  # a plain word with regex characters
        return keyword.lower() in text.lower()


def _last(call: ModelCall, role: str) -> str:
    return next((m.content for m in reversed(call.messages) if m.role == role), "")


def _tag(text: str, name: str) -> str:
    # Evidence is untrusted JSON that may itself contain "</evidence>": take the LAST closing
    # tag there; the question comes first, so its FIRST closing tag is the right one.
    start = text.find(f"<{name}>")
    close = f"</{name}>"
    end = text.rfind(close) if name == "evidence" else text.find(close, max(start, 0))
    if start < 0 or end < start:
        return ""
    return text[start + len(name) + 2 : end].strip()


def _sources(text: str, evidence: list[Evidence]) -> list[str]:
    listed = [s.strip() for s in _tag(text, "sources").split(",") if s.strip()]
    return listed or sorted({e.source for e in evidence})


__all__ = ["MODEL", "Findings", "OfflineProvider", "classify", "complete_offline"]
