"""What a request's span and its access log line tell when it ends."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from paddler.balancer.dispatch.relay_event import RelayFailed
from paddler.balancer.dispatch.trace_context import RequestTrace
from paddler.telemetry.request_tracer import RequestSpan

logger = logging.getLogger("paddler.balancer.dispatch.request_relay")


@dataclass(slots=True)
class RequestRecord:
    trace: RequestTrace
    arrived: float
    span: RequestSpan = field(default_factory=RequestSpan)
    outcome: str = "cancelled"
    failure: str | None = None
    agent_id: str | None = None
    responses: int = 0

    def failed(self, failure: RelayFailed) -> None:
        self.outcome = failure.reason.name.lower()
        self.failure = failure.description

    def finish(self) -> None:
        if self.agent_id is not None:
            self.span.set_attribute("paddler.agent_id", self.agent_id)
        self.span.set_attribute("paddler.outcome", self.outcome)
        self.span.set_attribute("paddler.relayed_responses", self.responses)
        self.span.end(error=self.failure)
        # One line per request (an access log), skipped cheaply when INFO is off.
        if logger.isEnabledFor(logging.INFO):
            _, trace_id, span_id, _ = self.trace.traceparent.split("-")
            logger.info(
                "request %s%s",
                self.outcome,
                f": {self.failure}" if self.failure else "",
                extra={
                    "trace_id": trace_id,
                    "span_id": span_id,
                    "parent_span_id": self.trace.parent_span_id,
                    "agent_id": self.agent_id,
                    "outcome": self.outcome,
                    "tokens": self.responses,
                    "duration_ms": (time.monotonic() - self.arrived) * 1000,
                },
            )
