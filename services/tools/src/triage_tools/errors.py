"""The failure a tool reports back instead of raising: the call as made cannot succeed.

`ToolError` becomes `ToolResult(status=error)` with a message written for the model (or a
human) to correct the call: which repository is allowed, which argument is wrong, what the
upstream said. Failures that may pass with time are the contracts' `TemporaryError`, left
to JetStream's redelivery; nothing here is swallowed.
"""

from triage_contracts.errors import ErrorCode, PermanentError


class ToolError(PermanentError):
    """The call as made cannot succeed; answered as an error result, not retried."""

    def __init__(self, message: str, code: ErrorCode = ErrorCode.BAD_REQUEST) -> None:
        super().__init__(message, code)
