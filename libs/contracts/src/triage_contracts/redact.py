"""Secret redaction, applied to logs, audit events, prompts and Slack output alike.

A token glued to the text before it ("id=abcxoxb-...") must not survive either: patterns
whose prefix is distinctive (`xox?-`, `xapp-`, `ghp_`, `AKIA`, `eyJ`, PEM armour) do not ask
for a word boundary before it; generic ones (`sk-`, `v0=`, `bearer`) keep it, so words such
as "task-..." are not mistaken for keys. Patterns run in order: PEM blocks first (their
base64 body may hold any other shape), JWTs before the generic bearer rule.
"""

import re
from typing import Any

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # The whole armoured block; an unterminated one is redacted to the end of the text.
    ("private_key", re.compile(
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?"
        r"(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)")),
    # Bot/user/app-config tokens, refresh tokens (`xoxe-1-…`, `xoxe.xoxp-1-…`).
    ("slack_token", re.compile(r"xox[abeposr](?:\.xox[abposr])?-[A-Za-z0-9-]{10,}")),
    ("slack_app_token", re.compile(r"xapp-[A-Za-z0-9-]{10,}")),
    ("slack_webhook", re.compile(
        r"https://hooks\.slack\.com/(?:services|workflows|triggers|commands|actions)/"
        r"[A-Za-z0-9_/-]{10,}")),
    ("slack_signing", re.compile(r"\bv0=[a-f0-9]{64}")),
    ("github_token", re.compile(r"(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})")),
    ("openai_key", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}")),
    ("aws_access_key", re.compile(r"(?:AKIA|ASIA)[A-Z0-9]{16}")),
    # header.payload.signature, base64url; the header is JSON, so it starts with `eyJ`.
    ("jwt", re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")),
    ("bearer", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{16,}")),
    # `secret=…`, `client_secret: …`, and quoted keys as JSON or a Python repr print them
    # (`"access_token": "…"`, `'client_secret': '…'`).
    ("password_assignment", re.compile(
        r"(?i)(?:\b|_)(password|passwd|secret|api[_-]?key|token)[\"']?\s*[:=]\s*[\"']?"
        r"[^\s\"']{8,}")),
)
SENSITIVE_KEYS = frozenset({
    "authorization", "token", "bot_token", "signing_secret", "client_secret", "password",
    "api_key", "secret", "x-slack-signature", "master_key", "signature",
    "access_token", "refresh_token", "user_token", "bot_refresh_token", "user_refresh_token",
    "incoming_webhook_url", "private_key", "vault_master_keys", "response_url",
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
