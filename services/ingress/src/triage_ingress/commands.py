"""`POST /slack/commands`: the `/triage <question>` slash command.

Slack shows the JSON answer to the asking user only (ephemeral); the real answer arrives
later from the notifier as a channel message.
"""

import hashlib
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter
from triage_contracts.errors import ErrorCode, PermanentError

from .intake import Edge, EdgeDep, enqueue
from .normalize import from_command
from .verify import VerifiedBody

router = APIRouter()

USAGE = ("Ask me about an engineering problem: `/triage <question>`, e.g. "
         "`/triage why is checkout-api failing since this morning?`")
ACK = "Looking into it…"


def parse_form(body: bytes) -> dict[str, str]:
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise PermanentError("body is not form-encoded", ErrorCode.BAD_REQUEST) from None
    return dict(pairs)


@router.post("/slack/commands")
async def slack_commands(body: VerifiedBody, edge: EdgeDep) -> dict[str, Any]:
    return await on_command(edge, parse_form(body), hashlib.sha256(body).hexdigest())


async def on_command(edge: Edge, form: dict[str, str], fallback_trigger: str
                     ) -> dict[str, Any]:
    """One `/triage` invocation, from HTTP or Socket Mode: the answer Slack shows the user."""
    request = from_command(form, fallback_trigger=fallback_trigger)
    if request is None:
        return {"response_type": "ephemeral", "text": USAGE}
    await enqueue(edge, request)
    return {"response_type": "ephemeral", "text": ACK}
