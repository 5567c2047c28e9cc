"""Takes inference requests from arrival to their last message.

Each waits for a slot (buffered), goes to the agent holding it, and what
comes back is relayed (RelayHandle). An agent that disappears before the
first token costs the client nothing: the request goes to another agent.
After a token was relayed it is too late, and the client gets error 502.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncGenerator, Callable
from typing import Any

import orjson

from paddler.balancer.dispatch.balancer_metrics import BalancerMetrics
from paddler.balancer.dispatch.buffered_request_manager import BufferedRequestManager
from paddler.balancer.dispatch.mailbox import BalancerStopping, Mailbox
from paddler.balancer.dispatch.model_pool import ModelPool
from paddler.balancer.dispatch.relay_event import Relayed, RelayEnd, RelayEvent, RelaySink
from paddler.balancer.dispatch.relay_handle import RelayHandle
from paddler.balancer.dispatch.request_record import RequestRecord
from paddler.balancer.dispatch.trace_context import RequestTrace, continue_trace, current_trace
from paddler.protocol.agent_socket import BalancerMethod
from paddler.telemetry.request_tracer import RequestTracer


class RequestRelay:
    def __init__(
        self,
        buffered_requests: BufferedRequestManager,
        metrics: BalancerMetrics,
        inference_item_timeout_s: float,
        tracer: RequestTracer | None = None,
        pool_request_ended: Callable[[ModelPool], None] | None = None,
        default_pool: ModelPool | None = None,
    ) -> None:
        # The default pool's buffer: requests that name no pool wait there.
        self._buffered_requests = buffered_requests
        self._pool_request_ended = pool_request_ended or ModelPool.request_ended
        # Requests that name no pool count as the default pool's.
        self._default_pool = default_pool
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
        pool: ModelPool | None = None,
    ) -> RelayHandle:
        """Starts relaying one request; its events go to `sink`, from the event loop.

        `sink.relayed` gets responses as they arrive, then `sink.ended` gets one
        RelayFinished or RelayFailed (possibly before this returns: a full
        buffer, say). `trace` is this request's span on the balancer (its
        traceparent goes on to the agent); without one, the HTTP request's
        (TraceContextMiddleware) or a new trace. The handle's `cancel()`
        (client gone, StopRespondingTo) tells the agent to stop and frees the
        slot; `sink.ended` is not called then. `pool`: the model pool whose
        agents serve it (its requests in flight count it until it ends);
        without one, the default pool's buffer.

        No task per request: the request moves on from callbacks (a slot
        handed out, a batch from the agent, a timer), a fraction of the cost
        of a task and two generators per request.
        """
        trace = trace or current_trace.get() or continue_trace(None)
        record = RequestRecord(trace, time.monotonic())
        record.span = self.tracer.start_span(
            "paddler.balancer.request",
            trace.traceparent,
            own_ids=True,
            parent_span_id=trace.parent_span_id,
            attributes={"paddler.method": method.value},
        )
        params = _with_members(params, {"traceparent": trace.traceparent})
        pool = pool or self._default_pool
        if pool is None:
            request = RelayHandle(self, method, params, record, sink, self._buffered_requests, None)
        else:
            pool.request_started()
            ended = self._pool_request_ended
            request = RelayHandle(self, method, params, record, sink, pool.buffer, lambda: ended(pool))
        request._dispatch()
        return request

    async def relay(
        self,
        method: BalancerMethod,
        params: Any,
        trace: RequestTrace | None = None,
        pool: ModelPool | None = None,
    ) -> AsyncGenerator[RelayEvent, None]:
        """`start` for a coroutine: yields relayed responses, then one RelayFinished or RelayFailed.

        Closing the iterator early (client gone) tells the agent to stop and frees the slot.
        """
        sink = _QueuedSink()
        request = self.start(method, params, trace, sink, pool)
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

    # -- for RelayHandle ------------------------------------------------------

    def _next_request_id(self) -> str:
        return f"{self._id_prefix}{next(self._request_numbers)}"

    def _started_streaming(self, mailbox: Mailbox) -> None:
        self._streaming.add(mailbox)
        self._idle.clear()

    def _stopped_streaming(self, mailbox: Mailbox) -> None:
        self._streaming.discard(mailbox)
        if not self._streaming:
            self._idle.set()


class _QueuedSink:
    """Events kept for a coroutine that takes them in batches (RequestRelay.relay)."""

    __slots__ = ("_events", "_waiter")

    def __init__(self) -> None:
        self._events: list[RelayEvent] = []
        self._waiter: asyncio.Future[None] | None = None

    def relayed(self, event: Relayed) -> None:
        self._add(event)

    def ended(self, event: RelayEnd) -> None:
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
