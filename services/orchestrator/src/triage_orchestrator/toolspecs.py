"""The write tools a skill may let the model propose, with their argument schemas.

The orchestrator offers these to the model (as OpenAI-style function specs) and checks a
proposal against the same schema before a human is asked to approve it: a malformed
proposal should never reach an approver. The tools service validates again on execution.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from triage_contracts.messages import ToolSpec


class CommentIssueArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repo: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", description="owner/name")
    issue_number: int = Field(ge=1, description="Issue or pull request number")
    body: str = Field(min_length=1, max_length=60000, description="Comment text (Markdown)")


WRITE_TOOLS: dict[str, tuple[str, type[BaseModel]]] = {
    "github.comment_issue": (
        "Post a comment on a GitHub issue or pull request (needs human approval).",
        CommentIssueArgs,
    ),
}


def tool_spec(name: str) -> ToolSpec:
    description, model = WRITE_TOOLS[name]
    return ToolSpec(name=name, description=description, parameters=model.model_json_schema())


def check_arguments(name: str, arguments: dict[str, Any]) -> str | None:
    """None when `arguments` fit the tool's schema, else the reason."""
    _, model = WRITE_TOOLS[name]
    try:
        model.model_validate(arguments)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False)
        ]
        return "; ".join(problems)
    return None
