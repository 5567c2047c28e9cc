"""One connected agent, as the balancer sees it: its status, its claimed slots,
its in-flight requests and the frames queued for its socket."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from paddler.balancer.dispatch.agent_circuit_breaker import AgentCircuitBreaker, CircuitBreakerState
from paddler.balancer.dispatch.listeners import Listeners
from paddler.balancer.dispatch.mailbox import AgentFailed, AgentFinished, AgentGone, AgentStreamed, Mailbox
from paddler.protocol import agent_socket
from paddler.protocol.agent_socket import SLOT_ARBITRATION, AgentMethod, BalancerMethod
from paddler.protocol.agent_status import AgentStatus, agent_snapshot
from paddler.protocol.body_validation import InvalidBody, decode_python

logger = logging.getLogger(__name__)

# What the request's final result is wrapped in for clients, per method.
_RESPONSE_KIND = {
    BalancerMethod.CONTINUE_FROM_CONVERSATION_HISTORY: "GeneratedToken",
    BalancerMethod.CONTINUE_FROM_RAW_PROMPT: "GeneratedToken",
    BalancerMethod.GENERATE_EMBEDDING_BATCH: "Embedding",
}

SendText = Callable[[str], Awaitable[None]]

# How long a balancer over its share of a shared agent's slots leaves a slot it freed to the
# others, who hear of it from the agent at once (the agent's REFILL_GRACE_S is the other side).
YIELD_S = 0.05


class AgentController:
    def __init__(
        self,
        agent_id: str,
        name: str | None,
        desired_slots_total: int,
        pinned_pool: str | None = None,
        capabilities: frozenset[str] = frozenset(),
    ) -> None:
        self.id = agent_id
        self.name = name
        self.status = AgentStatus(desired_slots_total=desired_slots_total)
        self.slots_claimed = 0
        self.closed = False
        # The model pool the agent was started for (`--pool`), if any, and
        # the one it serves now (None: none yet); the balancer's placement sets it.
        self.pinned_pool = pinned_pool
        self.pool_name: str | None = None
        # The pool and version of the last state pushed to the agent, and its id.
        self.pushed_state: tuple[str, int] | None = None
        self.pushed_state_id: int | None = None
        # What it echoes: the id of the last state it applied (agents with "state_ids").
        self.capabilities = capabilities
        self.applied_state_id: int | None = None
        # The pool it is being moved to (it serves none meanwhile), by the placement.
        self.switching_to: str | None = None
        self._status_version = -1
        # Set when the agent refused a request for want of a model: it gets
        # nothing more until its next status says what it has.
        self._unavailable = False
        # Slots the agent's other balancers hold (it reports them; an agent serving several
        # balancers arbitrates its slots), and whether it refused a request for want of one
        # since its last status: it gets nothing more until that status says what is free.
        self.slots_held_elsewhere: int | None = None
        self._full = False
        # How many balancers the agent serves, and until when this balancer leaves a slot it
        # freed to the others (it held more than its share).
        self.balancers = 1
        self._yielding_until = 0.0
        # The model pool of the state the agent says it applied (a follower balancer places
        # agents where the leader's placement put them).
        self.reported_pool: str | None = None
        self.circuit_breaker = AgentCircuitBreaker()
        self._pending: dict[str, Mailbox] = {}
        self._calls: dict[str, asyncio.Future[Any]] = {}
        self._call_ids = itertools.count(1)
        self._outgoing: deque[dict[str, Any]] = deque()
        self._outgoing_ready = asyncio.Event()
        # This agent's capacity may have changed (the pool subscribes).
        self.status_changes: Listeners[AgentController] = Listeners()

    @property
    def slots_total(self) -> int:
        if self.closed or self._unavailable or self.circuit_breaker.is_open:
            return 0
        return self.status.slots_total

    def mark_unavailable(self) -> None:
        self._unavailable = True

    def mark_full(self) -> None:
        """The agent refused a request: each of its slots is held (by other balancers too)."""
        if not self._full:
            self._full = True
            self.status_changes.emit(self)

    def record_outcome(self, succeeded: bool) -> None:
        before = self.circuit_breaker.state
        if succeeded:
            self.circuit_breaker.record_success()
        elif self.circuit_breaker.record_failure():
            # Open now; when it half-opens, buffered requests (and the agent list) must hear of it.
            loop = asyncio.get_running_loop()
            loop.call_later(self.circuit_breaker.open_s, self.status_changes.emit, self)
        if self.circuit_breaker.state != before:
            self.status_changes.emit(self)

    @property
    def free_slots(self) -> int:
        if self._full:
            return 0
        if self.slots_held_elsewhere is None and SLOT_ARBITRATION in self.capabilities:
            # Not told yet what its other balancers hold (its first status may predate our version
            # message): nothing is sent to it before it is, or it would refuse.
            return 0
        free = self.slots_total - self.slots_claimed - (self.slots_held_elsewhere or 0)
        if self._yielding_until and time.monotonic() < self._yielding_until:
            free -= 1
        return free

    def yield_freed_slot(self) -> float:
        """A claim of ours was just released. When we hold our fair share of the agent's slots
        or more (several balancers share it), that slot is left to the others for a moment (the
        agent tells them at once) and the seconds are returned; else 0: we refill it first."""
        if self.balancers < 2 or self.slots_held_elsewhere is None:
            return 0.0
        fair_share = -(-self.status.slots_total // self.balancers)
        if self.slots_claimed < fair_share:
            return 0.0
        self._yielding_until = time.monotonic() + YIELD_S
        return YIELD_S

    def end_yield(self) -> None:
        self._yielding_until = 0.0

    def snapshot(self) -> dict[str, Any]:
        snapshot = agent_snapshot(self.id, self.name, self.status)
        # Beyond Paddler's fields only while the breaker is not closed: it then
        # explains why an agent with free slots gets no requests. A healthy
        # cluster's list has exactly Paddler's fields, so clients that refuse
        # unknown fields (serde's deny_unknown_fields) read it.
        if self.circuit_breaker.state is not CircuitBreakerState.CLOSED:
            snapshot["circuit_breaker"] = self.circuit_breaker.state.value
        return snapshot

    # -- outgoing --------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        """Queues a frame; never blocks, so it is safe in `finally` blocks and cancellation."""
        if self.closed:
            return
        self._outgoing.append(message)
        self._outgoing_ready.set()

    async def write_loop(self, send_text: SendText) -> None:
        """Sends queued messages; when several piled up, one JSON-RPC batch frame carries them."""
        while not self.closed:
            await self._outgoing_ready.wait()
            self._outgoing_ready.clear()
            if not self._outgoing:
                continue
            if len(self._outgoing) == 1:
                frame = orjson.dumps(self._outgoing.popleft())
            else:
                frame = orjson.dumps(list(self._outgoing))
                self._outgoing.clear()
            await send_text(frame.decode())

    def start_request(self, request_id: str, method: BalancerMethod, params: Any) -> Mailbox:
        mailbox = Mailbox(_RESPONSE_KIND[method])
        self._pending[request_id] = mailbox
        # Params may still be serialized (bytes): they go into the frame as they are.
        wire_params = orjson.Fragment(params) if isinstance(params, bytes) else params
        self.send(agent_socket.request(request_id, method, wire_params))
        return mailbox

    def stop_responding_to(self, request_id: str) -> None:
        if self._pending.pop(request_id, None) is not None:
            params = {"request_id": request_id}
            self.send(agent_socket.notification(BalancerMethod.STOP_RESPONDING_TO, params))

    def forget(self, request_id: str) -> None:
        self._pending.pop(request_id, None)

    @property
    def requests_in_flight(self) -> int:
        return len(self._pending)

    async def call(self, method: BalancerMethod, params: Any, timeout_s: float) -> Any:
        """A request with a single answer; raises TimeoutError, AgentCallFailed or AgentDisconnected."""
        call_id = f"call-{next(self._call_ids)}"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._calls[call_id] = future
        self.send(agent_socket.request(call_id, method, params))
        try:
            async with asyncio.timeout(timeout_s):
                return await future
        finally:
            self._calls.pop(call_id, None)

    # -- incoming --------------------------------------------------------

    def handle_frame(self, frame: str | bytes) -> None:
        try:
            decoded = orjson.loads(frame)
        except orjson.JSONDecodeError:
            logger.warning("agent %s sent a frame that is not JSON", self.id)
            return
        messages = decoded if isinstance(decoded, list) else [decoded]
        for message in messages:
            if isinstance(message, dict):
                try:
                    self._handle_message(message)
                except (KeyError, TypeError, ValueError) as error:
                    logger.warning("agent %s sent a malformed message: %s", self.id, error)

    def _handle_message(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        if method is None:
            self._handle_response(message)
            return
        params = message.get("params") or {}
        if method == AgentMethod.GENERATED_TOKEN:
            mailbox = self._pending.get(params["request_id"])
            if mailbox is not None:
                mailbox.put(AgentStreamed({"GeneratedToken": params["token"]}))
        elif method == AgentMethod.EMBEDDING:
            mailbox = self._pending.get(params["request_id"])
            if mailbox is not None:
                mailbox.put(AgentStreamed({"Embedding": {"Embedding": params["embedding"]}}))
        elif method == AgentMethod.UPDATE_AGENT_STATUS:
            self._update_status(params)
        elif method == AgentMethod.DEREGISTER_AGENT:
            self.close()
        else:
            logger.warning("agent %s sent an unknown method %r", self.id, method)

    def _handle_response(self, message: dict[str, Any]) -> None:
        response_id = message.get("id")
        if not isinstance(response_id, str):
            return
        if "error" in message:
            error = message["error"]
            outcome: AgentFailed | AgentFinished = AgentFailed(int(error["code"]), str(error["message"]))
        else:
            outcome = AgentFinished(message.get("result"))
        future = self._calls.pop(response_id, None)
        if future is not None:
            if not future.done():
                if isinstance(outcome, AgentFailed):
                    future.set_exception(AgentCallFailed(outcome.code, outcome.message))
                else:
                    future.set_result(outcome.response)
            return
        mailbox = self._pending.pop(response_id, None)
        if mailbox is not None:
            if isinstance(outcome, AgentFinished):
                outcome = AgentFinished({mailbox.response_kind: outcome.response})
            mailbox.put(outcome)

    def _update_status(self, params: Any) -> None:
        decoded = decode_python(agent_socket.UPDATE_AGENT_STATUS_PARAMS, params)
        if isinstance(decoded, InvalidBody):
            logger.warning("agent %s sent an invalid status: %s", self.id, decoded.message)
            return
        if decoded.version <= self._status_version:
            return  # a snapshot older than one we already have
        self._status_version = decoded.version
        changed = (
            decoded.applied_state_id != self.applied_state_id
            or decoded.slots_held_elsewhere != self.slots_held_elsewhere
            or decoded.pool != self.reported_pool
        )
        self.applied_state_id = decoded.applied_state_id
        self.slots_held_elsewhere = decoded.slots_held_elsewhere
        self.balancers = decoded.balancers or 1
        self.reported_pool = decoded.pool
        if decoded.status != self.status or self._unavailable or self._full or changed:
            self._unavailable = False
            self._full = False
            self.status = decoded.status
            self.status_changes.emit(self)

    def close(self) -> None:
        """Ends every request in flight on this agent: their clients get an error or another agent."""
        if self.closed:
            return
        self.closed = True
        self._outgoing_ready.set()
        pending, self._pending = self._pending, {}
        for mailbox in pending.values():
            mailbox.put(AgentGone())
        for future in self._calls.values():
            if not future.done():
                future.set_exception(AgentDisconnected(self.id))
        self._calls.clear()
        self.status_changes.emit(self)


class AgentCallFailed(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"agent error {code}: {message}")
        self.code = code
        self.message = message


class AgentDisconnected(Exception):
    def __init__(self, agent_id: str) -> None:
        super().__init__(f"agent {agent_id} disconnected")
