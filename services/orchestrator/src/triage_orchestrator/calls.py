"""Checking one tool call a model asked for, before anything runs. Pure.

A call the run cannot make is not an exception: it becomes a tool error the model reads on
its next turn, saying exactly what to fix (unknown tool: which exist; bad JSON: that it is
not JSON; bad arguments: every problem; a repository outside the workspace: which ones
are allowed). Only a call that passes is sent to the tools service or, for a write,
queued for a human to approve.
"""

import json
from dataclasses import dataclass
from typing import Any

from triage_contracts.messages import RequestedToolCall
from triage_contracts.tools import TOOLS, WRITE_TOOLS, check_arguments


@dataclass(frozen=True)
class Checked:
    tool: str
    arguments: dict[str, Any]
    write: bool


@dataclass(frozen=True)
class Refused:
    tool: str
    arguments: dict[str, Any]
    error: str


def check(call: RequestedToolCall, offered: list[str], repos: list[str]) -> Checked | Refused:
    name = call.name
    if name not in offered:
        why = ("it exists but is not enabled for this skill or workspace" if name in TOOLS
               else "there is no such tool")
        return Refused(name, {}, f"{name!r} cannot be called: {why}. Available: "
                                 f"{', '.join(sorted(offered))}")
    try:
        arguments = json.loads(call.arguments or "{}")
    except json.JSONDecodeError as exc:
        return Refused(name, {}, f"the arguments are not valid JSON ({exc.msg} at "
                                 f"character {exc.pos}); send one JSON object")
    if not isinstance(arguments, dict):
        return Refused(name, {}, "the arguments must be one JSON object")
    problem = check_arguments(name, arguments)
    if problem is not None:
        accepted = ", ".join(TOOLS[name].arguments.model_fields)
        return Refused(name, arguments, f"invalid arguments: {problem}. Accepted: {accepted}")
    repo = arguments.get("repo")
    if repos and isinstance(repo, str) and repo.lower() not in {r.lower() for r in repos}:
        return Refused(name, arguments, f"repository {repo!r} is not configured for this "
                                        f"workspace; configured: {', '.join(repos)}")
    return Checked(name, arguments, write=name in WRITE_TOOLS)
