"""Secret redaction, applied to logs, audit events, prompts and Slack output alike."""

import re
from typing import Any

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("slack_signing", re.compile(r"\bv0=[a-f0-9]{64}\b")),
    ("github_token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})")),
    ("openai_key", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}")),
    ("aws_access_key", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("private_key", re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)")),
    ("bearer", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{16,}")),
    ("password_assignment", re.compile(
        r"(?i)\b(password|passwd|secret|api[_-]?key|token)\s*[:=]\s*[\"']?[^\s\"']{8,}")),
)
SENSITIVE_KEYS = frozenset({
    "authorization", "token", "bot_token", "signing_secret", "client_secret", "password",
    "api_key", "secret", "x-slack-signature", "master_key", "signature",
})


def find_secrets(text: str) -> list[str]:
    """Names of the secret kinds found in `text` (empty when clean)."""
    return [name for name, pattern in _PATTERNS if pattern.search(text)]


def redact_text(text: str) -> str:
    for name, pattern in _PATTERNS:
        text = pattern.sub(f"[REDACTED:{name}]", text)
    return text


def redact(value: Any) -> Any:
    """Redact strings anywhere inside JSON-like data; values of sensitive keys entirely."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {
            k: "[REDACTED]" if str(k).lower() in SENSITIVE_KEYS and v else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value
