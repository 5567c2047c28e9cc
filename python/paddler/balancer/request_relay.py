"""Takes one inference request from arrival to its last message.

Waits for a slot (buffered), sends the request to the agent holding it and
relays what comes back. An agent that disappears before its first token
costs the client nothing: the request goes to another agent. After a token
was relayed it is too late, and the client gets error 502.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
import time
import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

import orjson

from paddler.balancer.agent_controller import AgentController
from paddler.balancer.balancer_metrics import BalancerMetrics
from paddler.balancer.buffered_request_manager import BufferedRequestManager, BufferedRequestOutcome
from paddler.balancer.mailbox import (
    AgentFailed,
    AgentFinished,
    AgentGone,
    AgentStreamed,
    BalancerStopping,
    Mailbox,
    MailboxItem,
)
from paddler.balancer.trace_context import RequestTrace, continue_trace, current_trace
from paddler.protocol.agent_socket import BalancerMethod, RpcErrorCode
from paddler.protocol.inference_response import BalancerErrorCode
from paddler.telemetry.request_tracer import RequestSpan, RequestTracer

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

    # The serving agent's name (None when it has none), as Paddler's `generated_by`.
    generated_by: str | None
    responses: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class RelayFinished:
    generated_by: str | None
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
        tracer: RequestTracer | None = None,
    ) -> None:
        self._buffered_requests = buffered_requests
        self.tracer = tracer or RequestTracer()
        # The mailboxes of requests streaming from an agent now, for a shutdown that cannot wait.
        self._streaming: set[Mailbox] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._metrics = metrics
        self._item_timeout_s = inference_item_timeout_s
        # Unique per balancer run, cheaper than a uuid per request.
        self._id_prefix = uuid.uuid4().hex[:8] + "-"
        self._request_numbers = itertools.count(1)

    async def relay(
        self,
        method: BalancerMethod,
        params: Any,
        trace: RequestTrace | None = None,
    ) -> AsyncGenerator[RelayEvent, None]:
        """Yields relayed responses, then one RelayFinished or RelayFailed.

        `trace` is this request's span on the balancer (its traceparent goes on
        to the agent); without one, the HTTP request's (TraceContextMiddleware)
        or a new trace. Closing the iterator early (client gone,
        StopRespondingTo) tells the agent to stop and frees the slot.
        """
        trace = trace or current_trace.get() or continue_trace(None)
        record = _RequestRecord(trace, time.monotonic())
        record.span = self.tracer.start_span(
            "paddler.balancer.request",
            trace.traceparent,
            own_ids=True,
            parent_span_id=trace.parent_span_id,
            attributes={"paddler.method": method.value},
        )
        params = _with_members(params, {"traceparent": trace.traceparent})
        try:
            # An agent that failed the request before its first token: the retry goes elsewhere if it can.
            failed_agent: AgentController | None = None
            for _ in range(_MAX_DISPATCHES):
                claim = await self._buffered_requests.wait_for_slot(avoid=failed_agent)
                if isinstance(claim, BufferedRequestOutcome):
                    failure = _buffer_failure(claim)
                    record.failed(failure)
                    self._metrics.errors.inc(label_value=str(failure.code))
                    yield failure
                    return
                self._metrics.queue_wait.observe(time.monotonic() - record.arrived)
                controller = claim.controller
                record.agent_id = controller.id
                # One generator from the agent to the client, not two: this loop
                # runs once per relayed batch, and each generator layer costs.
                with claim:
                    # Our own id on the agent socket: ids chosen by clients may collide.
                    request_id = f"{self._id_prefix}{next(self._request_numbers)}"
                    mailbox = controller.start_request(request_id, method, params)
                    self._streaming.add(mailbox)
                    self._idle.clear()
                    relayed_any = False
                    ended = False
                    last_at = record.arrived
                    try:
                        while True:
                            items = await mailbox.get_batch(self._item_timeout_s)
                            if items is None:
                                controller.record_outcome(succeeded=False)
                                description = f"the agent sent nothing for {self._item_timeout_s:g} s"
                                outcome: _DispatchOutcome = _failed(RelayFailure.ITEM_TIMEOUT, description)
                                break
                            streamed = [item.response for item in items if isinstance(item, AgentStreamed)]
                            if streamed:
                                now = time.monotonic()
                                if relayed_any:
                                    self._observe_tokens(len(streamed), now - last_at)
                                else:
                                    self._metrics.time_to_first_token.observe(now - record.arrived)
                                    self._observe_first_tokens(len(streamed))
                                last_at = now
                                relayed_any = True
                                record.responses += len(streamed)
                                yield Relayed(controller.name, streamed)
                            final = (
                                None
                                if len(streamed) == len(items)
                                else next(item for item in items if not isinstance(item, AgentStreamed))
                            )
                            if final is not None:
                                # A request the balancer ends itself still runs on its agent:
                                # `finally` stops it there.
                                ended = not isinstance(final, BalancerStopping)
                                outcome = _final_outcome(controller, final, relayed_any)
                                break
                    finally:
                        self._streaming.discard(mailbox)
                        if not self._streaming:
                            self._idle.set()
                        if ended:
                            controller.forget(request_id)
                        else:
                            # Client gone, item timeout or cancelled: stop the agent too.
                            controller.stop_responding_to(request_id)
                if isinstance(outcome, _DispatchAgain):
                    continue
                if isinstance(outcome, _RetryElsewhere):
                    if failed_agent is None:
                        # Once: a request that fails everywhere must not go round the cluster.
                        failed_agent = controller
                        logger.info(
                            "agent %s failed a request before its first token (%s); retrying",
                            controller.id,
                            outcome.failure.description,
                        )
                        continue
                    outcome = outcome.failure
                if isinstance(outcome, RelayFinished):
                    record.outcome = "ok"
                else:
                    record.failed(outcome)
                    self._metrics.errors.inc(label_value=str(outcome.code))
                yield outcome
                return
            failure = _failed(RelayFailure.AGENT_GONE, "no agent could take the request")
            record.failed(failure)
            self._metrics.errors.inc(label_value=str(failure.code))
            yield failure
        finally:
            self._metrics.requests.inc(label_value=record.outcome)
            record.finish()

    def _observe_first_tokens(self, count: int) -> None:
        self._metrics.tokens_generated.inc(count)
        if count > 1:
            # The first token's companions came with it: no gap.
            self._metrics.inter_token_latency.observe(0.0, count - 1)

    def _observe_tokens(self, count: int, gap_s: float) -> None:
        self._metrics.tokens_generated.inc(count)
        # Tokens that arrived together share the gap since the last ones.
        self._metrics.inter_token_latency.observe(gap_s / count, count)

    @property
    def streaming(self) -> int:
        """Requests streaming from an agent now (not those still waiting for a slot)."""
        return len(self._streaming)

    async def wait_idle(self, timeout_s: float) -> bool:
        """Waits until no request streams, for at most `timeout_s`; True if none is left."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    def end_all(self) -> None:
        """Ends every streaming request now, each with a clear error (and its agent told to stop)."""
        for mailbox in list(self._streaming):
            mailbox.put(BalancerStopping())


def _final_outcome(controller: AgentController, final: MailboxItem, relayed_any: bool) -> _DispatchOutcome:
    """What the request's last message from its agent means for the client."""
    if isinstance(final, AgentFinished):
        controller.record_outcome(succeeded=True)
        return RelayFinished(controller.name, final.response)
    if isinstance(final, BalancerStopping):
        return _failed(RelayFailure.SHUTTING_DOWN, "the balancer is shutting down")
    if isinstance(final, AgentGone):
        if relayed_any:
            return _failed(
                RelayFailure.AGENT_GONE, f"the connection to agent {controller.id} closed mid-stream"
            )
        return _DISPATCH_AGAIN
    assert isinstance(final, AgentFailed)
    if final.code == RpcErrorCode.NO_MODEL_LOADED and not relayed_any:
        # The agent is being reconfigured; another one (or this one, once its
        # status shows slots again) takes the request.
        controller.mark_unavailable()
        return _DISPATCH_AGAIN
    # The client's own mistakes (4xx) say nothing about the agent's health.
    code = _AGENT_ERROR_CODES.get(final.code, BalancerErrorCode.INTERNAL)
    controller.record_outcome(succeeded=code < BalancerErrorCode.INTERNAL)
    failure = _failed(RelayFailure.AGENT_ERROR, final.message, code)
    if code >= BalancerErrorCode.INTERNAL and not relayed_any:
        # The agent's fault, and the client has seen nothing yet: another agent may serve it.
        return _RetryElsewhere(failure)
    return failure


class _DispatchAgain:
    pass


@dataclass(frozen=True, slots=True)
class _RetryElsewhere:
    """The agent failed the request before its first token; `failure` is what the client
    gets if the request was retried already."""

    failure: RelayFailed


@dataclass(slots=True)
class _RequestRecord:
    """What the request's span and its log line tell when it ends."""

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


_DISPATCH_AGAIN = _DispatchAgain()

# How one dispatch to an agent ended.
_DispatchOutcome = RelayFinished | RelayFailed | _DispatchAgain | _RetryElsewhere


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
