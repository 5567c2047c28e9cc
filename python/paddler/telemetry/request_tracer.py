"""One span per request, exported over OTLP/HTTP when an endpoint is given.

The OpenTelemetry SDK is an optional dependency (`pip install paddler[otlp]`),
imported only when tracing is on. Without an endpoint every call here is a
no-op of a few attribute lookups: the request path pays nothing.

The balancer already chose its span id when it wrote the traceparent it sends
to the agent, so its span must carry exactly that id (`own_ids`); the agent's
span is a new child of the balancer's.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


class TracingUnavailable(Exception):
    """--otlp-endpoint was given but the OpenTelemetry SDK is not installed."""


class RequestSpan:
    """A span that does nothing: tracing is off."""

    __slots__ = ()

    def set_attribute(self, key: str, value: str | int | float | bool) -> None:
        pass

    def end(self, error: str | None = None) -> None:
        pass


_NO_SPAN = RequestSpan()


class RequestTracer:
    def __init__(self) -> None:
        self.enabled = False

    def start_span(
        self,
        name: str,
        traceparent: str,
        *,
        own_ids: bool,
        parent_span_id: str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> RequestSpan:
        """A span in `traceparent`'s trace.

        own_ids: the span IS the one `traceparent` names (its span id), a child
        of `parent_span_id` if given; otherwise it is a new child of that span.
        """
        return _NO_SPAN

    def shutdown(self) -> None:
        pass


def check_tracing_available(otlp_endpoint: str | None) -> None:
    """Raises TracingUnavailable, with what to install, when tracing is asked for and cannot run."""
    request_tracer("paddler", otlp_endpoint, check_only=True)


def request_tracer(service_name: str, otlp_endpoint: str | None, check_only: bool = False) -> RequestTracer:
    """The tracer for a process: a no-op one without an endpoint; raises TracingUnavailable."""
    if not otlp_endpoint:
        return RequestTracer()
    try:
        from paddler.telemetry.otlp_request_tracer import OtlpRequestTracer
    except ImportError as error:
        raise TracingUnavailable(
            f"--otlp-endpoint needs the OpenTelemetry SDK: pip install 'paddler[otlp]' ({error})"
        ) from error
    return RequestTracer() if check_only else OtlpRequestTracer(service_name, otlp_endpoint)
