"""Takes one inference request from arrival to its last message.

Waits for a slot (buffered), sends the request to the agent holding it and
relays what comes back. An agent that disappears before its first token
costs the client nothing: the request goes to another agent. After a token
was relayed it is too late, and the client gets error 502.
"""

from __future__ import annotations

import enum
import itertools
import logging
import time
import uuid
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import orjson

from paddler.balancer.agent_controller import AgentController
from paddler.balancer.balancer_metrics import BalancerMetrics
from paddler.balancer.buffered_request_manager import BufferedRequestManager, BufferedRequestOutcome
from paddler.balancer.mailbox import AgentFinished, AgentGone, AgentStreamed
from paddler.balancer.trace_context import child_traceparent, trace_id_of
from paddler.protocol.agent_socket import BalancerMethod, RpcErrorCode
from paddler.protocol.inference_response import BalancerErrorCode

logger = logging.getLogger(__name__)

# An agent that answers "no model" has just been reconfigured; a few more
# tries reach another agent or the same one once it reports its new slots.
_MAX_DISPATCHES = 5


class RelayFailure(enum.Enum):
    TOO_MANY_BUFFERED_REQUESTS = enum.auto()
    BUFFER_TIMEOUT = enum.auto()
    ITEM_TIMEOUT = enum.auto()
    AGENT_GONE = enum.auto()
    AGENT_ERROR = enum.auto()
    SHUTTING_DOWN = enum.auto()


_FAILURE_CODES = {
    RelayFailure.TOO_MANY_BUFFERED_REQUESTS: BalancerErrorCode.UNAVAILABLE,
    RelayFailure.BUFFER_TIMEOUT: BalancerErrorCode.TIMEOUT,
    RelayFailure.ITEM_TIMEOUT: BalancerErrorCode.TIMEOUT,
    RelayFailure.AGENT_GONE: BalancerErrorCode.AGENT_CONNECTION_CLOSED,
    RelayFailure.AGENT_ERROR: BalancerErrorCode.INTERNAL,
    RelayFailure.SHUTTING_DOWN: BalancerErrorCode.UNAVAILABLE,
}

_AGENT_ERROR_CODES: dict[int, int] = {
    RpcErrorCode.INVALID_PARAMS: BalancerErrorCode.BAD_REQUEST,
    RpcErrorCode.NOT_SUPPORTED: BalancerErrorCode.BAD_REQUEST,
    RpcErrorCode.NO_MODEL_LOADED: BalancerErrorCode.UNAVAILABLE,
    RpcErrorCode.SHUTTING_DOWN: BalancerErrorCode.UNAVAILABLE,
}


@dataclass(frozen=True, slots=True)
class Relayed:
    """Non-final responses (tokens, embeddings), in arrival order."""

    generated_by: str
    responses: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class RelayFinished:
    generated_by: str
    response: Any


@dataclass(frozen=True, slots=True)
class RelayFailed:
    reason: RelayFailure
    code: int
    description: str


RelayEvent = Relayed | RelayFinished | RelayFailed


def _failed(reason: RelayFailure, description: str, code: int | None = None) -> RelayFailed:
    return RelayFailed(reason, code if code is not None else _FAILURE_CODES[reason], description)


class RequestRelay:
    def __init__(
        self,
        buffered_requests: BufferedRequestManager,
        metrics: BalancerMetrics,
        inference_item_timeout_s: float,
    ) -> None:
        self._buffered_requests = buffered_requests
        self._metrics = metrics
        self._item_timeout_s = inference_item_timeout_s
        # Unique per balancer run, cheaper than a uuid per request.
        self._id_prefix = uuid.uuid4().hex[:8] + "-"
        self._request_numbers = itertools.count(1)

    async def relay(
        self, method: BalancerMethod, params: Any, traceparent: str | None = None
    ) -> AsyncGenerator[RelayEvent, None]:
        """Yields relayed responses, then one RelayFinished or RelayFailed.

        Closing the iterator early (client gone, StopRespondingTo) tells the
        agent to stop and frees the slot.
        """
        arrived = time.monotonic()
        outcome = "cancelled"
        traceparent = traceparent or child_traceparent(None)
        params = _with_members(params, {"traceparent": traceparent})
        try:
            for _ in range(_MAX_DISPATCHES):
                claim = await self._buffered_requests.wait_for_slot()
                if isinstance(claim, BufferedRequestOutcome):
                    failure = _buffer_failure(claim)
                    outcome = failure.reason.name.lower()
                    self._metrics.errors.inc(label_value=str(failure.code))
                    yield failure
                    return
                self._metrics.queue_wait.observe(time.monotonic() - arrived)
                # aclosing: when the client leaves, the inner generator's
                # `finally` must stop the agent now, not whenever GC runs.
                events = self._relay_from(claim.controller, method, params, arrived)
                with claim:
                    async with aclosing(events):
                        async for event in events:
                            if isinstance(event, _DispatchAgain):
                                break
                            if isinstance(event, RelayFinished):
                                outcome = "ok"
                            elif isinstance(event, RelayFailed):
                                outcome = event.reason.name.lower()
                                self._metrics.errors.inc(label_value=str(event.code))
                                logger.info(
                                    "request failed on agent %s: %s %s (trace %s)",
                                    claim.controller.id,
                                    event.code,
                                    event.description,
                                    trace_id_of(traceparent),
                                )
                            yield event
                        else:
                            return
            outcome = "agent_gone"
            failure = _failed(RelayFailure.AGENT_GONE, "no agent could take the request")
            self._metrics.errors.inc(label_value=str(failure.code))
            yield failure
        finally:
            self._metrics.requests.inc(label_value=outcome)

    async def _relay_from(
        self, controller: AgentController, method: BalancerMethod, params: Any, arrived: float
    ) -> AsyncGenerator[RelayEvent | _DispatchAgain, None]:
        # Our own id on the agent socket: ids chosen by clients may collide.
        request_id = f"{self._id_prefix}{next(self._request_numbers)}"
        mailbox = controller.start_request(request_id, method, params)
        relayed_any = False
        ended = False
        last_at = arrived
        try:
            while True:
                items = await mailbox.get_batch(self._item_timeout_s)
                if items is None:
                    controller.record_outcome(succeeded=False)
                    yield _failed(
                        RelayFailure.ITEM_TIMEOUT, f"the agent sent nothing for {self._item_timeout_s:g} s"
                    )
                    return
                streamed = [item.response for item in items if isinstance(item, AgentStreamed)]
                final = next((item for item in items if not isinstance(item, AgentStreamed)), None)
                if streamed:
                    now = time.monotonic()
                    if not relayed_any:
                        self._metrics.time_to_first_token.observe(now - arrived)
                        if len(streamed) > 1:
                            # The first token's companions came with it: no gap.
                            self._metrics.inter_token_latency.observe(0.0, len(streamed) - 1)
                    else:
                        # Tokens that arrived together share the gap since the last ones.
                        count = len(streamed)
                        self._metrics.inter_token_latency.observe((now - last_at) / count, count)
                    last_at = now
                    relayed_any = True
                    self._metrics.tokens_generated.inc(len(streamed))
                    yield Relayed(controller.id, streamed)
                if final is None:
                    continue
                ended = True
                if isinstance(final, AgentFinished):
                    controller.record_outcome(succeeded=True)
                    yield RelayFinished(controller.id, final.response)
                elif isinstance(final, AgentGone):
                    if relayed_any:
                        description = f"the connection to agent {controller.id} closed mid-stream"
                        yield _failed(RelayFailure.AGENT_GONE, description)
                    else:
                        yield _DISPATCH_AGAIN
                elif final.code == RpcErrorCode.NO_MODEL_LOADED and not relayed_any:
                    # The agent is being reconfigured; another one (or this one,
                    # once its status shows slots again) takes the request.
                    controller.mark_unavailable()
                    yield _DISPATCH_AGAIN
                else:
                    # The client's own mistakes (4xx) say nothing about the agent's health.
                    code = _AGENT_ERROR_CODES.get(final.code, BalancerErrorCode.INTERNAL)
                    controller.record_outcome(succeeded=code < BalancerErrorCode.INTERNAL)
                    yield _failed(RelayFailure.AGENT_ERROR, final.message, code)
                return
        finally:
            if ended:
                controller.forget(request_id)
            else:
                # Client gone, item timeout or cancelled: stop the agent too.
                controller.stop_responding_to(request_id)


class _DispatchAgain:
    pass


_DISPATCH_AGAIN = _DispatchAgain()


def _with_members(params: Any, members: dict[str, Any]) -> Any:
    """Adds internal members (trace context) to a request's params, parsed or still serialized."""
    if isinstance(params, dict):
        return {**params, **members}
    if isinstance(params, bytes):
        # A serialized JSON object (model_dump_json): `{...}` with the members
        # spliced in before its closing brace.
        body = params.rstrip()
        separator = b"," if body[:-1].strip() != b"{" else b""
        return body[:-1] + separator + orjson.dumps(members)[1:]
    return params


def _buffer_failure(outcome: BufferedRequestOutcome) -> RelayFailed:
    if outcome is BufferedRequestOutcome.TOO_MANY_BUFFERED_REQUESTS:
        return _failed(RelayFailure.TOO_MANY_BUFFERED_REQUESTS, "too many buffered requests")
    if outcome is BufferedRequestOutcome.TIMEOUT:
        return _failed(RelayFailure.BUFFER_TIMEOUT, "timed out waiting for a free slot")
    return _failed(RelayFailure.SHUTTING_DOWN, "the balancer is shutting down")
