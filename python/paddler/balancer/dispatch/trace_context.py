"""W3C trace context: a request keeps the caller's trace id, or gets a new one.

The balancer is a span of its own: it passes `00-<trace id>-<its span id>-<flags>`
to the agent, so both sides log the same trace id.
"""

from __future__ import annotations

import random
import re
from contextvars import ContextVar
from dataclasses import dataclass

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_INVALID_TRACE_ID = "0" * 32
_INVALID_PARENT_ID = "0" * 16
# Trace and span ids must be unique, not unpredictable: a PRNG seeded from
# the OS costs a fraction of reading the OS random source per request.
_random = random.Random()


def child_traceparent(incoming: str | None) -> str:
    match = _TRACEPARENT.match(incoming.strip().lower()) if incoming else None
    if match and match.group(1) != _INVALID_TRACE_ID and match.group(2) != _INVALID_PARENT_ID:
        return f"00-{match.group(1)}-{_random.getrandbits(64):016x}-{match.group(3)}"
    # A new trace: its id and our span id from one draw (this runs per request).
    ids = f"{_random.getrandbits(192):048x}"
    return f"00-{ids[:32]}-{ids[32:]}-01"


def parent_span_id_of(incoming: str | None) -> str | None:
    """The caller's span id in a valid incoming traceparent: the parent of the balancer's span."""
    match = _TRACEPARENT.match(incoming.strip().lower()) if incoming else None
    if match and match.group(1) != _INVALID_TRACE_ID and match.group(2) != _INVALID_PARENT_ID:
        return match.group(2)
    return None


# Not frozen, but never changed: one is built per token or per request on the
# balancer's hot path, where a frozen dataclass costs more to build.
@dataclass(slots=True)
class RequestTrace:
    """The balancer's span of one request: `traceparent` names it (and goes to the
    agent and back to the client), `parent_span_id` is the caller's span, if any."""

    traceparent: str
    parent_span_id: str | None

    def child(self) -> RequestTrace:
        """A span under this one, for a part of the request (a part of an embedding batch)."""
        return RequestTrace(child_traceparent(self.traceparent), self.traceparent.split("-")[2])


def continue_trace(incoming: str | None) -> RequestTrace:
    """The balancer's span for a request that came with `incoming` (a traceparent header or None)."""
    if not incoming:
        return RequestTrace(child_traceparent(None), None)
    return RequestTrace(child_traceparent(incoming), parent_span_id_of(incoming))


# Set per HTTP request by TraceContextMiddleware, for endpoints that do not pass a trace.
current_trace: ContextVar[RequestTrace | None] = ContextVar("current_trace", default=None)


def trace_id_of(traceparent: str) -> str:
    return traceparent.split("-")[1]
