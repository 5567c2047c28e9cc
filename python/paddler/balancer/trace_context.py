"""W3C trace context: a request keeps the caller's trace id, or gets a new one.

The balancer is a span of its own: it passes `00-<trace id>-<its span id>-<flags>`
to the agent, so both sides log the same trace id.
"""

from __future__ import annotations

import random
import re

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_INVALID_TRACE_ID = "0" * 32
_INVALID_PARENT_ID = "0" * 16
# Trace and span ids must be unique, not unpredictable: a PRNG seeded from
# the OS costs a fraction of reading the OS random source per request.
_random = random.Random()


def child_traceparent(incoming: str | None) -> str:
    match = _TRACEPARENT.match(incoming.strip().lower()) if incoming else None
    if match and match.group(1) != _INVALID_TRACE_ID and match.group(2) != _INVALID_PARENT_ID:
        trace_id, flags = match.group(1), match.group(3)
    else:
        trace_id, flags = f"{_random.getrandbits(128):032x}", "01"
    return f"00-{trace_id}-{_random.getrandbits(64):016x}-{flags}"


def trace_id_of(traceparent: str) -> str:
    return traceparent.split("-")[1]
