"""The dependency every Slack endpoint shares: the raw body, size-capped and verified.

Slack signs the exact bytes it sends, so the body is read raw (never re-serialised) and
checked before anything parses it. The cap is enforced twice: on the declared
Content-Length before reading, and while streaming (a chunked body declares nothing).
"""

import time
from typing import Annotated

from fastapi import Depends, Request
from triage_contracts.errors import ErrorCode, PermanentError

from .intake import Edge, EdgeDep


async def read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise PermanentError("invalid Content-Length", ErrorCode.BAD_REQUEST)
        if int(declared) > limit:
            raise PermanentError(f"body larger than {limit} bytes", ErrorCode.TOO_LARGE)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise PermanentError(f"body larger than {limit} bytes", ErrorCode.TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)


def check_signature(edge: Edge, body: bytes, timestamp: str | None, signature: str | None,
                    now: float) -> None:
    """Raise 401 with a reason unless Slack signed `body` within the allowed window."""
    if edge.verifier is None:
        raise _unauthenticated("request signing is not configured")
    if not timestamp or not signature:
        raise _unauthenticated("missing X-Slack-Signature or X-Slack-Request-Timestamp")
    if not timestamp.isdigit():
        raise _unauthenticated("invalid X-Slack-Request-Timestamp")
    if abs(now - int(timestamp)) > edge.settings.signature_tolerance_s:
        # Old or future timestamps: a replayed (or forged) request.
        raise _unauthenticated("request timestamp outside the allowed window")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise PermanentError("body is not UTF-8", ErrorCode.BAD_REQUEST) from None
    if not edge.verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
        raise _unauthenticated("invalid request signature")


async def verified_body(request: Request, edge: EdgeDep) -> bytes:
    body = await read_capped(request, edge.settings.max_body_bytes)
    check_signature(edge, body, request.headers.get("x-slack-request-timestamp"),
                    request.headers.get("x-slack-signature"), time.time())
    return body


VerifiedBody = Annotated[bytes, Depends(verified_body)]


def _unauthenticated(reason: str) -> PermanentError:
    return PermanentError(reason, ErrorCode.UNAUTHENTICATED)
