"""Stops sending work to an agent that keeps failing it, for a while.

Closed: requests flow. After `failure_threshold` failures in a row it opens:
the agent gets nothing for `open_s`. Then it is half-open: requests flow
again, and the next outcome closes it (a success) or opens it again at once
(a failure).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

FAILURE_THRESHOLD = 3
OPEN_S = 5.0


class CircuitBreakerState(enum.StrEnum):
    """As `/api/v1/agents` shows it."""

    CLOSED = "Closed"
    OPEN = "Open"
    HALF_OPEN = "HalfOpen"


class AgentCircuitBreaker:
    def __init__(
        self,
        failure_threshold: int = FAILURE_THRESHOLD,
        open_s: float = OPEN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._failure_threshold = failure_threshold
        self.open_s = open_s
        self._clock = clock
        self._failures = 0
        self._open_until = 0.0

    @property
    def is_open(self) -> bool:
        return self._clock() < self._open_until

    @property
    def state(self) -> CircuitBreakerState:
        if self.is_open:
            return CircuitBreakerState.OPEN
        if self._failures >= self._failure_threshold:
            # The open time is over but nothing has succeeded since.
            return CircuitBreakerState.HALF_OPEN
        return CircuitBreakerState.CLOSED

    def record_success(self) -> None:
        self._failures = 0

    def record_failure(self) -> bool:
        """Counts a failure; True when this one opened the breaker."""
        self._failures += 1
        if self._failures >= self._failure_threshold:
            self._open_until = self._clock() + self.open_s
            return True
        return False
