"""Identifiers: random ones for messages, deterministic ones where a retry must map to
the same object (a Slack retry to the same run, a step to the same outbound write)."""

import hashlib
import uuid
from datetime import UTC, datetime


def new_id(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def stable_id(prefix: str, *parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]
    return f"{prefix}{digest}"


def utcnow() -> datetime:
    return datetime.now(UTC)
