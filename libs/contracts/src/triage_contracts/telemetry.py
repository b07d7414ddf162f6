"""Tracing: one recording TracerProvider per process, so faststream's telemetry middleware
creates spans and carries W3C trace context (`traceparent`) in every NATS message's headers.

Spans are exported over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the standard
OpenTelemetry variable, read by the exporter itself). Otherwise nothing would read them, so
they are not recorded: the sampler drops them (parent-based, so a hop whose caller sampled
still records), yet every span keeps a valid trace and span id, and trace context still
travels in the headers and reaches the logs. Recording spans that go nowhere cost the
ingress about a tenth of its CPU per event (docs/benchmarks.md, P1). `OTEL_TRACES_SAMPLER`,
when set, is honoured as the SDK documents. Span attributes never hold message bodies."""

import asyncio
import os
from functools import cache

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, Sampler


@cache
def tracer_provider(service: str) -> TracerProvider:
    exporting = bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
    provider = TracerProvider(resource=Resource.create({"service.name": f"triage-{service}"}),
                              sampler=_sampler(exporting))
    if exporting:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(provider)  # first service in the process owns the global
    return provider


def _sampler(exporting: bool) -> Sampler | None:
    """None: the SDK's own choice (OTEL_TRACES_SAMPLER, else parent-based always-on)."""
    if exporting or os.environ.get("OTEL_TRACES_SAMPLER"):
        return None
    return ParentBased(ALWAYS_OFF)


async def flush(timeout_s: float = 5.0) -> None:
    """Export the spans still batched, at shutdown. Not left to the SDK's exit hook: uvicorn
    ends a process stopped by SIGTERM by raising the signal again once it has shut down, so
    exit hooks never run, and a short run's spans (the batch goes out every 5 s) were lost."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        await asyncio.to_thread(provider.force_flush, int(timeout_s * 1000))
