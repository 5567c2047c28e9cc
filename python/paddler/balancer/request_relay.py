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
from typing import Any, Protocol

import orjson

from paddler.balancer.agent_controller import AgentController
from paddler.balancer.agent_controller_slot_guard import AgentControllerSlotGuard
from paddler.balancer.balancer_metrics import BalancerMetrics
from paddler.balancer.buffered_request_manager import (
    BufferedRequestManager,
    BufferedRequestOutcome,
    BufferedWait,
)
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
from paddler.protocol.agent_socket import CONTEXT_EXHAUSTED, BalancerMethod, RpcErrorCode
from paddler.protocol.inference_response import BalancerErrorCode
from paddler.telemetry.request_tracer import RequestSpan, RequestTracer

logger = logging.getLogger(__name__)

# An agent that answers "no model" has just been reconfigured; a few more
# tries reach another agent or the same one once it reports its new slots.
_MAX_DISPATCHES = 5
# A request in flight when its agent's connection closed goes to one more
# agent at most: if the request is what kills agents, it kills two, not five.
_MAX_DISPATCHES_AFTER_AGENT_LOSS = 1


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

# Only INVALID_PARAMS is the client's fault (a prompt too long, a schema the
# agent refuses). NOT_SUPPORTED is this agent's configuration (embeddings off
# while the desired state has them on: being reloaded), as the balancer's own
# refusal says 501. The rest, and any code not listed, are 500: the agent's
# failure or a bug between balancer and agent.
_AGENT_ERROR_CODES: dict[int, int] = {
    RpcErrorCode.INVALID_PARAMS: BalancerErrorCode.BAD_REQUEST,
    RpcErrorCode.NOT_SUPPORTED: BalancerErrorCode.NOT_IMPLEMENTED,
    RpcErrorCode.NO_MODEL_LOADED: BalancerErrorCode.UNAVAILABLE,
    RpcErrorCode.SHUTTING_DOWN: BalancerErrorCode.UNAVAILABLE,
}


# Not frozen, but never changed: one is built per token or per request on the
# balancer's hot path, and a frozen dataclass costs ~250 ns more per field to build.
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

    def start(
        self,
        method: BalancerMethod,
        params: Any,
        trace: RequestTrace | None,
        sink: RelaySink,
    ) -> RelayHandle:
        """Starts relaying one request; its events go to `sink`, from the event loop.

        `sink.relayed` gets responses as they arrive, then `sink.ended` gets one
        RelayFinished or RelayFailed (possibly before this returns: a full
        buffer, say). `trace` is this request's span on the balancer (its
        traceparent goes on to the agent); without one, the HTTP request's
        (TraceContextMiddleware) or a new trace. The handle's `cancel()`
        (client gone, StopRespondingTo) tells the agent to stop and frees the
        slot; `sink.ended` is not called then.

        No task per request: the request moves on from callbacks (a slot
        handed out, a batch from the agent, a timer), a fraction of the cost
        of a task and two generators per request.
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
        request = RelayHandle(self, method, params, record, sink)
        request._dispatch()
        return request

    async def relay(
        self,
        method: BalancerMethod,
        params: Any,
        trace: RequestTrace | None = None,
    ) -> AsyncGenerator[RelayEvent, None]:
        """`start` for a coroutine: yields relayed responses, then one RelayFinished or RelayFailed.

        Closing the iterator early (client gone) tells the agent to stop and frees the slot.
        """
        sink = _QueuedSink()
        request = self.start(method, params, trace, sink)
        try:
            while True:
                for event in await sink.take():
                    yield event
                    if not isinstance(event, Relayed):
                        return
        finally:
            request.cancel()

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


class RelaySink(Protocol):
    def relayed(self, event: Relayed) -> None: ...

    def ended(self, event: RelayFinished | RelayFailed) -> None: ...


class RelayHandle:
    """One request on its way: waiting for a slot, streaming from an agent, or ended."""

    __slots__ = (
        "_claim",
        "_controller",
        "_dispatches",
        "_failed_agent",
        "_last_at",
        "_lost_agents",
        "_mailbox",
        "_method",
        "_params",
        "_record",
        "_relay",
        "_relayed_any",
        "_request_id",
        "_sink",
        "_timer",
        "_wait",
        "ended",
    )

    def __init__(
        self,
        relay: RequestRelay,
        method: BalancerMethod,
        params: Any,
        record: _RequestRecord,
        sink: RelaySink,
    ) -> None:
        self._relay = relay
        self._method = method
        self._params = params
        self._record = record
        self._sink = sink
        self._dispatches = 0
        self._lost_agents = 0
        # An agent that failed the request before its first token: the retry goes elsewhere if it can.
        self._failed_agent: AgentController | None = None
        self._wait: BufferedWait | None = None
        self._claim: AgentControllerSlotGuard | None = None
        self._controller: AgentController | None = None
        self._mailbox: Mailbox | None = None
        self._request_id = ""
        self._timer: asyncio.TimerHandle | None = None
        self._relayed_any = False
        self._last_at = 0.0
        self.ended = False

    def cancel(self) -> None:
        """The client is gone or asked to stop: the agent stops too, nothing more is sent."""
        if self.ended:
            return
        if self._wait is not None:
            self._wait.cancel()
            self._wait = None
        self._leave_agent(finished_on_agent=False)
        self._close()

    # -- waiting for a slot ----------------------------------------------

    def _dispatch(self) -> None:
        if self._dispatches == _MAX_DISPATCHES:
            self._end(_failed(RelayFailure.AGENT_GONE, "no agent could take the request"))
            return
        self._dispatches += 1
        claimed = self._relay._buffered_requests.claim(self._on_slot, self._failed_agent)
        if isinstance(claimed, BufferedWait):
            self._wait = claimed
        else:
            self._on_slot(claimed)

    def _on_slot(self, claimed: AgentControllerSlotGuard | BufferedRequestOutcome) -> None:
        self._wait = None
        if isinstance(claimed, BufferedRequestOutcome):
            self._end(_buffer_failure(claimed))
            return
        relay = self._relay
        record = self._record
        now = time.monotonic()
        relay._metrics.queue_wait.observe(now - record.arrived)
        controller = claimed.controller
        record.agent_id = controller.id
        self._claim = claimed
        self._controller = controller
        # Our own id on the agent socket: ids chosen by clients may collide.
        self._request_id = f"{relay._id_prefix}{next(relay._request_numbers)}"
        mailbox = controller.start_request(self._request_id, self._method, self._params)
        self._mailbox = mailbox
        relay._streaming.add(mailbox)
        relay._idle.clear()
        self._relayed_any = False
        # The item timeout counts from here until the first token, then between tokens.
        self._last_at = now
        self._timer = asyncio.get_running_loop().call_later(relay._item_timeout_s, self._check_silence)
        mailbox.listen(self._on_items)

    # -- streaming from the agent ------------------------------------------

    def _on_items(self, items: list[MailboxItem]) -> None:
        controller = self._controller
        assert controller is not None
        streamed = [item.response for item in items if isinstance(item, AgentStreamed)]
        if streamed:
            now = time.monotonic()
            metrics = self._relay._metrics
            count = len(streamed)
            metrics.tokens_generated.inc(count)
            if self._relayed_any:
                # Tokens that arrived together share the gap since the last ones.
                metrics.inter_token_latency.observe((now - self._last_at) / count, count)
            else:
                metrics.time_to_first_token.observe(now - self._record.arrived)
                if count > 1:
                    # The first token's companions came with it: no gap.
                    metrics.inter_token_latency.observe(0.0, count - 1)
            self._last_at = now
            self._relayed_any = True
            self._record.responses += count
            self._sink.relayed(Relayed(controller.name, streamed))
            if self.ended:  # the sink cancelled the request
                return
        if len(streamed) == len(items):
            return
        final = next(item for item in items if not isinstance(item, AgentStreamed))
        # Judged before the slot is released: an agent found unavailable or
        # failing must not be handed that slot's next request.
        outcome = _final_outcome(controller, final, self._relayed_any)
        # A request the balancer ends itself still runs on its agent: stop it there.
        self._leave_agent(finished_on_agent=not isinstance(final, BalancerStopping))
        self._conclude(outcome)

    def _check_silence(self) -> None:
        # One timer per request, moved on only when it fires: cheaper than a
        # new timer for every batch of tokens.
        self._timer = None
        timeout_s = self._relay._item_timeout_s
        silent_s = time.monotonic() - self._last_at
        if silent_s < timeout_s:
            self._timer = asyncio.get_running_loop().call_later(timeout_s - silent_s, self._check_silence)
            return
        assert self._controller is not None
        self._controller.record_outcome(succeeded=False)
        self._leave_agent(finished_on_agent=False)
        self._conclude(_failed(RelayFailure.ITEM_TIMEOUT, f"the agent sent nothing for {timeout_s:g} s"))

    def _leave_agent(self, finished_on_agent: bool) -> None:
        """Done with the agent that has the request, if any: forgotten there, or told to stop."""
        mailbox = self._mailbox
        if mailbox is None:
            return
        self._mailbox = None
        mailbox.detach()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        relay = self._relay
        relay._streaming.discard(mailbox)
        if not relay._streaming:
            relay._idle.set()
        assert self._controller is not None
        assert self._claim is not None
        if finished_on_agent:
            self._controller.forget(self._request_id)
        else:
            # Client gone, item timeout or shutdown: stop the agent too.
            self._controller.stop_responding_to(self._request_id)
        # The slot is free before the client hears the end.
        self._claim.release()
        self._claim = None

    def _conclude(self, outcome: _DispatchOutcome) -> None:
        if isinstance(outcome, _AgentLost):
            lost = self._relay._metrics.requests_on_lost_agents
            if outcome.after_first_token:
                lost.inc(label_value="ended_after_first_token")
                outcome = _failed(
                    RelayFailure.AGENT_GONE,
                    f"the connection to agent {self._record.agent_id} closed mid-stream",
                )
            elif self._lost_agents == _MAX_DISPATCHES_AFTER_AGENT_LOSS:
                lost.inc(label_value="ended")
                outcome = _failed(
                    RelayFailure.AGENT_GONE,
                    f"the connection to agent {self._record.agent_id} closed before the first token, and "
                    f"{self._lost_agents} agent(s) had been lost under this request before: it is not "
                    "dispatched again",
                )
            else:
                lost.inc(label_value="dispatched_again")
                self._lost_agents += 1
                self._dispatch()
                return
        if isinstance(outcome, _DispatchAgain):
            self._dispatch()
            return
        if isinstance(outcome, _RetryElsewhere):
            if self._failed_agent is None:
                # Once: a request that fails everywhere must not go round the cluster.
                self._failed_agent = self._controller
                logger.info(
                    "agent %s failed a request before its first token (%s); retrying",
                    self._record.agent_id,
                    outcome.failure.description,
                )
                self._dispatch()
                return
            outcome = outcome.failure
        self._end(outcome)

    def _end(self, event: RelayFinished | RelayFailed) -> None:
        if isinstance(event, RelayFinished):
            self._record.outcome = "ok"
        else:
            self._record.failed(event)
            self._relay._metrics.errors.inc(label_value=str(event.code))
        self._close()
        self._sink.ended(event)

    def _close(self) -> None:
        self.ended = True
        self._relay._metrics.requests.inc(label_value=self._record.outcome)
        self._record.finish()


class _QueuedSink:
    """Events kept for a coroutine that takes them in batches (RequestRelay.relay)."""

    __slots__ = ("_events", "_waiter")

    def __init__(self) -> None:
        self._events: list[RelayEvent] = []
        self._waiter: asyncio.Future[None] | None = None

    def relayed(self, event: Relayed) -> None:
        self._add(event)

    def ended(self, event: RelayFinished | RelayFailed) -> None:
        self._add(event)

    def _add(self, event: RelayEvent) -> None:
        self._events.append(event)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def take(self) -> list[RelayEvent]:
        if not self._events:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        events, self._events = self._events, []
        return events


def _final_outcome(controller: AgentController, final: MailboxItem, relayed_any: bool) -> _DispatchOutcome:
    """What the request's last message from its agent means for the client."""
    if isinstance(final, AgentFinished):
        controller.record_outcome(succeeded=True)
        return _finished(controller.name, final.response)
    if isinstance(final, BalancerStopping):
        return _failed(RelayFailure.SHUTTING_DOWN, "the balancer is shutting down")
    if isinstance(final, AgentGone):
        return _AgentLost(after_first_token=relayed_any)
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
class _AgentLost:
    """The agent's connection closed while it held the request."""

    after_first_token: bool


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
_DispatchOutcome = RelayFinished | RelayFailed | _DispatchAgain | _RetryElsewhere | _AgentLost


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


def _finished(generated_by: str | None, response: Any) -> RelayFinished:
    """The agent's last response, without the members that are ours alone (docs/agent-socket.md)."""
    result = response.get("GeneratedToken") if isinstance(response, dict) else None
    if isinstance(result, dict) and CONTEXT_EXHAUSTED in result:
        return RelayFinished(generated_by, response, context_exhausted=result.pop(CONTEXT_EXHAUSTED) is True)
    return RelayFinished(generated_by, response)


def _buffer_failure(outcome: BufferedRequestOutcome) -> RelayFailed:
    if outcome is BufferedRequestOutcome.TOO_MANY_BUFFERED_REQUESTS:
        return _failed(RelayFailure.TOO_MANY_BUFFERED_REQUESTS, "too many buffered requests")
    if outcome is BufferedRequestOutcome.TIMEOUT:
        return _failed(RelayFailure.BUFFER_TIMEOUT, "timed out waiting for a free slot")
    return _failed(RelayFailure.SHUTTING_DOWN, "the balancer is shutting down")
