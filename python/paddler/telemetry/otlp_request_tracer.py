"""RequestTracer on the OpenTelemetry SDK, exporting to an OTLP/HTTP collector."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from paddler.telemetry.request_tracer import RequestSpan, RequestTracer


class _PresetIdGenerator(IdGenerator):
    """Hands out the ids set just before a span starts, else random ones.

    The SDK lets no caller choose a span's id; the balancer's span id is
    already on the wire to the agent, so the span must take it. Spans start
    on the event loop thread only, synchronously: a preset is consumed by
    the very start_span call that follows it.
    """

    def __init__(self) -> None:
        self._random = RandomIdGenerator()
        self.trace_id: int | None = None
        self.span_id: int | None = None

    def generate_trace_id(self) -> int:
        preset, self.trace_id = self.trace_id, None
        return preset if preset is not None else self._random.generate_trace_id()

    def generate_span_id(self) -> int:
        preset, self.span_id = self.span_id, None
        return preset if preset is not None else self._random.generate_span_id()


class _OtlpSpan(RequestSpan):
    __slots__ = ("_span",)

    def __init__(self, span: trace.Span) -> None:
        self._span = span

    def set_attribute(self, key: str, value: str | int | float | bool) -> None:
        self._span.set_attribute(key, value)

    def end(self, error: str | None = None) -> None:
        if error is not None:
            self._span.set_status(Status(StatusCode.ERROR, error))
        self._span.end()


class OtlpRequestTracer(RequestTracer):
    def __init__(self, service_name: str, otlp_endpoint: str) -> None:
        super().__init__()
        self.enabled = True
        self._ids = _PresetIdGenerator()
        self._provider = TracerProvider(
            resource=Resource.create({"service.name": service_name}), id_generator=self._ids
        )
        # The collector's base address or its full traces path, as the user wrote it.
        endpoint = otlp_endpoint.rstrip("/")
        if not endpoint.endswith("/v1/traces"):
            endpoint += "/v1/traces"
        # Exported from the SDK's own thread, in batches: the event loop never waits on the collector.
        self._provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        self._tracer = self._provider.get_tracer("paddler")

    def start_span(
        self,
        name: str,
        traceparent: str,
        *,
        own_ids: bool,
        parent_span_id: str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> RequestSpan:
        try:
            _, trace_hex, span_hex, flags_hex = traceparent.split("-")
            trace_id, span_id, flags = int(trace_hex, 16), int(span_hex, 16), int(flags_hex, 16)
        except ValueError:
            span = self._tracer.start_span(name, kind=SpanKind.SERVER, attributes=attributes)
            return _OtlpSpan(span)
        if own_ids:
            parent = int(parent_span_id, 16) if parent_span_id else 0
            self._ids.trace_id, self._ids.span_id = trace_id, span_id
        else:
            parent = span_id
        context = None
        if parent:
            remote = SpanContext(trace_id, parent, is_remote=True, trace_flags=TraceFlags(flags))
            context = trace.set_span_in_context(NonRecordingSpan(remote))
        try:
            span = self._tracer.start_span(name, context=context, kind=SpanKind.SERVER, attributes=attributes)
        finally:
            # With a parent the SDK takes the trace id from it: the preset must not outlive this span.
            self._ids.trace_id = self._ids.span_id = None
        return _OtlpSpan(span)

    def shutdown(self) -> None:
        # Flushes what is still batched: the last requests' spans are not lost at exit.
        self._provider.shutdown()
