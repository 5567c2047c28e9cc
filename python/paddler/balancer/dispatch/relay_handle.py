"""One request on its way through the balancer, moved on by callbacks: a slot
handed out, a batch from its agent, a timer. No task per request."""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from paddler.balancer.dispatch.agent_controller import AgentController
from paddler.balancer.dispatch.agent_controller_slot_guard import AgentControllerSlotGuard
from paddler.balancer.dispatch.buffered_request_manager import (
    BufferedRequestManager,
    BufferedRequestOutcome,
    BufferedWait,
    SlotAnswer,
)
from paddler.balancer.dispatch.dispatch_outcome import (
    AgentLost,
    DispatchAgain,
    DispatchOutcome,
    RetryElsewhere,
    SlotRefused,
    dispatch_outcome,
)
from paddler.balancer.dispatch.mailbox import AgentStreamed, BalancerStopping, Mailbox, MailboxItem
from paddler.balancer.dispatch.relay_event import (
    Relayed,
    RelayEnd,
    RelayFailure,
    RelayFinished,
    RelaySink,
    buffer_failure,
    relay_failed,
)
from paddler.balancer.dispatch.request_record import RequestRecord
from paddler.protocol.agent_socket import BalancerMethod

if TYPE_CHECKING:
    from paddler.balancer.dispatch.request_relay import RequestRelay

logger = logging.getLogger("paddler.balancer.dispatch.request_relay")

# An agent that answers "no model" has just been reconfigured; a few more
# tries reach another agent or the same one once it reports its new slots.
_MAX_DISPATCHES: Final = 5
# Refusals for want of a slot (agents shared with other balancers) a request may meet: each
# marks that agent full until its next status, so many in a row means the statuses never come.
_MAX_SLOT_REFUSALS: Final = 64
# A request in flight when its agent's connection closed goes to one more
# agent at most: if the request is what kills agents, it kills two, not five.
_MAX_DISPATCHES_AFTER_AGENT_LOSS: Final = 1


class RelayState(enum.Enum):
    # For a slot: claiming one, in the buffer, or between two agents.
    WAITING = enum.auto()
    # On an agent, which streams its answer back; the request holds its slot.
    STREAMING = enum.auto()
    # Finished, failed or cancelled: nothing more happens.
    ENDED = enum.auto()


# Every move a request may make; `RelayHandle._enter` refuses any other.
_TRANSITIONS: Final = {
    RelayState.WAITING: frozenset({RelayState.STREAMING, RelayState.ENDED}),
    RelayState.STREAMING: frozenset({RelayState.WAITING, RelayState.ENDED}),
    RelayState.ENDED: frozenset[RelayState](),
}


class RelayHandle:
    """One request: waiting for a slot, streaming from an agent, or ended (`state`).

    Every change of state goes through `_enter`, and leaving STREAMING is where
    the agent is left and the slot released: no path out of an agent keeps
    its slot. The slot's next request gets it from the event loop, never from
    inside this request's callback (BufferedRequestManager schedules the
    hand-off), so nothing another request does can interrupt this one's move.
    """

    __slots__ = (
        "_buffer",
        "_claim",
        "_controller",
        "_dispatches",
        "_failed_agent",
        "_last_at",
        "_lost_agents",
        "_mailbox",
        "_method",
        "_on_closed",
        "_params",
        "_record",
        "_refusals",
        "_relay",
        "_relayed_any",
        "_request_id",
        "_sink",
        "_timer",
        "_wait",
        "state",
    )

    def __init__(
        self,
        relay: RequestRelay,
        method: BalancerMethod,
        params: Any,
        record: RequestRecord,
        sink: RelaySink,
        buffer: BufferedRequestManager,
        on_closed: Callable[[], None] | None,
    ) -> None:
        self._relay = relay
        # Where it waits for a slot: its model pool's buffer.
        self._buffer = buffer
        self._on_closed = on_closed
        self._method = method
        self._params = params
        self._record = record
        self._sink = sink
        self.state = RelayState.WAITING
        self._dispatches = 0
        self._refusals = 0
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

    @property
    def ended(self) -> bool:
        return self.state is RelayState.ENDED

    def cancel(self) -> None:
        """The client is gone or asked to stop: the agent stops too, nothing more is sent."""
        if self.state is RelayState.ENDED:
            return
        self._enter(RelayState.ENDED, stop_agent=True)
        self._close()

    # -- the one place that changes state ----------------------------------

    def _enter(self, state: RelayState, *, stop_agent: bool = True) -> None:
        """Moves to `state`, leaving the buffer or the agent first; `stop_agent`: the agent
        still runs the request and must be told to stop (not when it has just ended it)."""
        if state not in _TRANSITIONS[self.state]:
            raise RuntimeError(f"a request cannot go from {self.state.name} to {state.name}")
        if self.state is RelayState.WAITING:
            wait, self._wait = self._wait, None
            if wait is not None:
                wait.cancel()
        elif self.state is RelayState.STREAMING:
            self._leave_agent(stop_agent)
        self.state = state
        if state is not RelayState.STREAMING and self._claim is not None:
            # Claimed, but the request never reached the agent (sending raised).
            self._release_claim()

    def _leave_agent(self, stop_agent: bool) -> None:
        mailbox, self._mailbox = self._mailbox, None
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        try:
            if mailbox is not None:
                mailbox.detach()
                self._relay._stopped_streaming(mailbox)
                assert self._controller is not None
                if stop_agent:
                    # Client gone, item timeout or shutdown: the agent stops too.
                    self._controller.stop_responding_to(self._request_id)
                else:
                    self._controller.forget(self._request_id)
        finally:
            # The slot is free before the client hears the end.
            self._release_claim()

    def _release_claim(self) -> None:
        claim, self._claim = self._claim, None
        if claim is not None:
            claim.release()

    # -- waiting for a slot ------------------------------------------------

    def _dispatch(self) -> None:
        if self._dispatches == _MAX_DISPATCHES:
            self._end(relay_failed(RelayFailure.AGENT_GONE, "no agent could take the request"))
            return
        self._dispatches += 1
        claimed = self._buffer.claim(self._on_slot, self._failed_agent)
        if isinstance(claimed, BufferedWait):
            self._wait = claimed
        else:
            self._on_slot(claimed)

    def _on_slot(self, claimed: SlotAnswer) -> None:
        self._wait = None
        if isinstance(claimed, BufferedRequestOutcome):
            self._end(buffer_failure(claimed))
            return
        self._claim = claimed
        self._enter(RelayState.STREAMING)
        try:
            self._start_on(claimed.controller)
        except Exception:
            logger.exception("sending a request to agent %s failed", claimed.controller.id)
            failure = relay_failed(
                RelayFailure.INTERNAL, "the balancer could not send the request to an agent"
            )
            self._end(failure)

    def _start_on(self, controller: AgentController) -> None:
        relay = self._relay
        now = time.monotonic()
        relay._metrics.queue_wait.observe(now - self._record.arrived, label_value=self._buffer.pool_name)
        self._record.agent_id = controller.id
        self._controller = controller
        # Our own id on the agent socket: ids chosen by clients may collide.
        self._request_id = relay._next_request_id()
        relay._metrics.dispatches.inc()
        mailbox = controller.start_request(self._request_id, self._method, self._params)
        self._mailbox = mailbox
        relay._started_streaming(mailbox)
        self._relayed_any = False
        # The item timeout counts from here until the first token, then between tokens.
        self._last_at = now
        self._timer = asyncio.get_running_loop().call_later(relay._item_timeout_s, self._check_silence)
        mailbox.listen(self._on_items)

    # -- streaming from the agent -------------------------------------------

    def _on_items(self, items: list[MailboxItem]) -> None:
        controller = self._controller
        assert controller is not None
        streamed = [item.response for item in items if isinstance(item, AgentStreamed)]
        if streamed:
            self._count(len(streamed))
            try:
                self._sink.relayed(Relayed(controller.name, streamed))
            except Exception:
                # The client's side broke: nobody is left to tell.
                logger.exception("relaying to the client failed; the request stops")
                self._record.failure = "relaying to the client failed"
                self.cancel()
                return
            if self.state is RelayState.ENDED:  # the sink cancelled the request
                return
        if len(streamed) == len(items):
            return
        final = next(item for item in items if not isinstance(item, AgentStreamed))
        # Judged before the slot is released: an agent found unavailable or
        # failing must not be handed that slot's next request.
        outcome = dispatch_outcome(controller, final, self._relayed_any)
        # A request the balancer ends itself still runs on its agent: stop it there.
        self._enter(RelayState.WAITING, stop_agent=isinstance(final, BalancerStopping))
        self._conclude(outcome)

    def _count(self, count: int) -> None:
        now = time.monotonic()
        metrics = self._relay._metrics
        pool = self._buffer.pool_name
        metrics.tokens_generated.inc(count)
        if self._relayed_any:
            # Tokens that arrived together share the gap since the last ones.
            metrics.inter_token_latency.observe((now - self._last_at) / count, count, pool)
        else:
            metrics.time_to_first_token.observe(now - self._record.arrived, label_value=pool)
            if count > 1:
                # The first token's companions came with it: no gap.
                metrics.inter_token_latency.observe(0.0, count - 1, pool)
        self._last_at = now
        self._relayed_any = True
        self._record.responses += count

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
        self._end(relay_failed(RelayFailure.ITEM_TIMEOUT, f"the agent sent nothing for {timeout_s:g} s"))

    # -- after an agent -------------------------------------------------------

    def _conclude(self, outcome: DispatchOutcome) -> None:
        if isinstance(outcome, AgentLost):
            lost = self._relay._metrics.requests_on_lost_agents
            agent = self._record.agent_id
            if outcome.after_first_token:
                lost.inc(label_value="ended_after_first_token")
                outcome = relay_failed(
                    RelayFailure.AGENT_GONE, f"the connection to agent {agent} closed mid-stream"
                )
            elif self._lost_agents == _MAX_DISPATCHES_AFTER_AGENT_LOSS:
                lost.inc(label_value="ended")
                outcome = relay_failed(
                    RelayFailure.AGENT_GONE,
                    f"the connection to agent {agent} closed before the first token, and "
                    f"{self._lost_agents} agent(s) had been lost under this request before: it is not "
                    "dispatched again",
                )
            else:
                lost.inc(label_value="dispatched_again")
                self._lost_agents += 1
                self._dispatch()
                return
        if isinstance(outcome, DispatchAgain):
            self._dispatch()
            return
        if isinstance(outcome, SlotRefused):
            self._relay._metrics.slot_refusals.inc()
            self._refusals += 1
            if self._refusals > _MAX_SLOT_REFUSALS:
                self._end(
                    relay_failed(
                        RelayFailure.AGENT_GONE,
                        f"agents refused the request {self._refusals} times: their slots were taken "
                        "by other balancers' requests",
                    )
                )
                return
            # A refusal is not a dispatch spent: the agent never started the request.
            self._dispatches -= 1
            self._dispatch()
            return
        if isinstance(outcome, RetryElsewhere):
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

    def _end(self, event: RelayEnd) -> None:
        if isinstance(event, RelayFinished):
            self._record.outcome = "ok"
        else:
            self._record.failed(event)
            self._relay._metrics.errors.inc(label_value=(self._buffer.pool_name, str(event.code)))
        self._enter(RelayState.ENDED)
        self._close()
        try:
            self._sink.ended(event)
        except Exception:
            logger.exception("telling the client how its request ended failed")

    def _close(self) -> None:
        self._relay._metrics.requests.inc(label_value=(self._buffer.pool_name, self._record.outcome))
        self._record.finish()
        on_closed, self._on_closed = self._on_closed, None
        if on_closed is not None:
            on_closed()
