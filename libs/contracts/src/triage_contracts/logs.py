"""Structured logs (structlog) bound to run_id / team_id / trace id, with secrets redacted.

Libraries log through the standard library, not structlog (slack-sdk writes request and
response bodies at DEBUG, an OAuth exchange's tokens among them): the root handlers get a
filter that redacts those messages too."""

import logging
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog
from opentelemetry import trace

from .redact import redact, redact_text


def _add_trace_id(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event["trace_id"] = format(ctx.trace_id, "032x")
    return event


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    redacted: Mapping[str, Any] = redact(dict(event))
    return redacted


class _RedactRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_REDACT_RECORDS = _RedactRecords()


def configure_logging(service: str, level: str = "INFO", json: bool = False) -> None:
    logging.basicConfig(stream=sys.stderr, level=level.upper(), format="%(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_REDACT_RECORDS)
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            _add_trace_id,
            _redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str = "triage") -> Any:
    return structlog.get_logger(name)
