"""What a relayed request tells its client: responses as they come, then one end."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol

from paddler.balancer.dispatch.buffered_request_manager import BufferedRequestOutcome
from paddler.protocol.inference_response import BalancerErrorCode


class RelayFailure(enum.Enum):
    TOO_MANY_BUFFERED_REQUESTS = enum.auto()
    BUFFER_TIMEOUT = enum.auto()
    ITEM_TIMEOUT = enum.auto()
    AGENT_GONE = enum.auto()
    AGENT_ERROR = enum.auto()
    SHUTTING_DOWN = enum.auto()
    # A bug on the balancer's side of the request (a hand-off that raised).
    INTERNAL = enum.auto()


_FAILURE_CODES = {
    RelayFailure.TOO_MANY_BUFFERED_REQUESTS: BalancerErrorCode.UNAVAILABLE,
    RelayFailure.BUFFER_TIMEOUT: BalancerErrorCode.TIMEOUT,
    RelayFailure.ITEM_TIMEOUT: BalancerErrorCode.TIMEOUT,
    RelayFailure.AGENT_GONE: BalancerErrorCode.AGENT_CONNECTION_CLOSED,
    RelayFailure.AGENT_ERROR: BalancerErrorCode.INTERNAL,
    RelayFailure.SHUTTING_DOWN: BalancerErrorCode.UNAVAILABLE,
    RelayFailure.INTERNAL: BalancerErrorCode.INTERNAL,
}


# Not frozen, but never changed: built per token or per request on the
# balancer's hot path, where a frozen dataclass costs more to build.
@dataclass(slots=True)
class Relayed:
    """Non-final responses (tokens, embeddings), in arrival order."""

    # The serving agent's name (None when it has none), as Paddler's `generated_by`.
    generated_by: str | None
    responses: list[dict[str, Any]]


@dataclass(slots=True)
class RelayFinished:
    generated_by: str | None
    response: Any
    # The generation filled its slot's context (the agent's internal marker,
    # removed from `response`): Paddler's API shows a plain Done.
    context_exhausted: bool = False


@dataclass(slots=True)
class RelayFailed:
    reason: RelayFailure
    code: int
    description: str


RelayEnd = RelayFinished | RelayFailed
RelayEvent = Relayed | RelayFinished | RelayFailed


class RelaySink(Protocol):
    """Where a request's events go, called from the event loop."""

    def relayed(self, event: Relayed) -> None: ...

    def ended(self, event: RelayEnd) -> None: ...


def relay_failed(reason: RelayFailure, description: str, code: int | None = None) -> RelayFailed:
    return RelayFailed(reason, code if code is not None else _FAILURE_CODES[reason], description)


def buffer_failure(outcome: BufferedRequestOutcome) -> RelayFailed:
    if outcome is BufferedRequestOutcome.TOO_MANY_BUFFERED_REQUESTS:
        return relay_failed(RelayFailure.TOO_MANY_BUFFERED_REQUESTS, "too many buffered requests")
    if outcome is BufferedRequestOutcome.TIMEOUT:
        return relay_failed(RelayFailure.BUFFER_TIMEOUT, "timed out waiting for a free slot")
    return relay_failed(RelayFailure.SHUTTING_DOWN, "the balancer is shutting down")
