"""Requests that wait for a free slot of their model pool, first in first out, each for a bounded
time; the balancer-wide limit on buffered requests holds across the pools."""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections import deque
from collections.abc import Callable

from paddler.balancer.dispatch.agent_controller import AgentController
from paddler.balancer.dispatch.agent_controller_pool import AgentControllerPool
from paddler.balancer.dispatch.agent_controller_slot_guard import AgentControllerSlotGuard
from paddler.balancer.dispatch.change_notifier import ChangeNotifier
from paddler.protocol.model_pool import DEFAULT_POOL

logger = logging.getLogger(__name__)


class BufferedRequestOutcome(enum.Enum):
    TOO_MANY_BUFFERED_REQUESTS = enum.auto()
    TIMEOUT = enum.auto()
    SHUTTING_DOWN = enum.auto()


SlotAnswer = AgentControllerSlotGuard | BufferedRequestOutcome


class BufferBudget:
    """The balancer-wide count of buffered requests, shared by every pool's buffer."""

    def __init__(self, max_buffered_requests: int) -> None:
        self.max_buffered_requests = max_buffered_requests
        self.buffered_requests_current = 0
        self.changes = ChangeNotifier()

    def _changed(self, delta: int) -> None:
        self.buffered_requests_current += delta
        self.changes.notify()


class BufferedWait:
    """A request in the buffer: answered once, with a slot or an outcome, through `on_answer`."""

    __slots__ = ("_manager", "_timer", "on_answer", "queued_at")

    def __init__(self, manager: BufferedRequestManager, on_answer: Callable[[SlotAnswer], None]) -> None:
        self._manager = manager
        self.on_answer: Callable[[SlotAnswer], None] | None = on_answer
        self._timer: asyncio.TimerHandle | None = None
        # time.monotonic() when it joined the buffer.
        self.queued_at = time.monotonic()

    def cancel(self) -> None:
        """Leaves the buffer unanswered (the request was cancelled)."""
        if self.on_answer is not None:
            self.on_answer = None
            self._manager._leave(self)

    def _answer(self, answer: SlotAnswer) -> None:
        on_answer, self.on_answer = self.on_answer, None
        if self._timer is not None:
            self._timer.cancel()
        if on_answer is not None:
            on_answer(answer)
        elif isinstance(answer, AgentControllerSlotGuard):
            answer.release()


class BufferedRequestManager:
    def __init__(
        self,
        pool: AgentControllerPool,
        max_buffered_requests: int,
        timeout_s: float,
        pool_name: str = DEFAULT_POOL,
        budget: BufferBudget | None = None,
    ) -> None:
        self._pool = pool
        self.pool_name = pool_name
        self._budget = budget or BufferBudget(max_buffered_requests)
        self._timeout_s = timeout_s
        self._waiters: deque[BufferedWait] = deque()
        self._shutting_down = False
        self._hand_out_scheduled = False
        self.changes = ChangeNotifier()
        pool.capacity.subscribe(self._capacity_appeared)

    @property
    def buffered_requests_current(self) -> int:
        return len(self._waiters)

    @property
    def timeout_s(self) -> float:
        """How long a request may wait in this buffer before it ends with a timeout."""
        return self._timeout_s

    @property
    def oldest_queued_at(self) -> float | None:
        """time.monotonic() when the request first in line joined, or None when none waits."""
        return self._waiters[0].queued_at if self._waiters else None

    def claim(
        self, on_answer: Callable[[SlotAnswer], None], avoid: AgentController | None = None
    ) -> SlotAnswer | BufferedWait:
        """A slot now (on an agent other than `avoid` when one has a free slot), an outcome
        now, or a place in the buffer that `on_answer` is called from, once, later.

        Called from the event loop; the callback form spares a request its own task
        (RequestRelay moves each request on from callbacks).
        """
        if self._shutting_down:
            return BufferedRequestOutcome.SHUTTING_DOWN
        # Waiting requests go first: a newcomer never overtakes the queue.
        if not self._waiters:
            guard = self._pool.try_claim(self.pool_name, avoid)
            if guard is not None:
                return guard
        # No free slot, we would need to wait. Reject if the buffer is full
        # (0 disables buffering).
        if self._budget.buffered_requests_current >= self._budget.max_buffered_requests:
            return BufferedRequestOutcome.TOO_MANY_BUFFERED_REQUESTS
        wait = BufferedWait(self, on_answer)
        self._waiters.append(wait)
        self._budget._changed(1)
        # A timer handle: the wait is answered either way, by a slot or by the
        # timeout, whichever comes first.
        wait._timer = asyncio.get_running_loop().call_later(self._timeout_s, self._time_out, wait)
        self.changes.notify()
        return wait

    def _leave(self, wait: BufferedWait) -> None:
        if wait._timer is not None:
            wait._timer.cancel()
        try:
            self._waiters.remove(wait)
        except ValueError:
            return
        self._budget._changed(-1)
        self.changes.notify()

    def _time_out(self, wait: BufferedWait) -> None:
        self._leave(wait)
        wait._answer(BufferedRequestOutcome.TIMEOUT)

    def _capacity_appeared(self, pool_name: str | None) -> None:
        # Never in place: capacity appears inside another request's move (its
        # slot released), which must finish before the next request's begins.
        if pool_name is not None and pool_name != self.pool_name:
            return
        if self._waiters and not self._hand_out_scheduled:
            self._hand_out_scheduled = True
            asyncio.get_running_loop().call_soon(self._hand_out_slots)

    def _hand_out_slots(self) -> None:
        self._hand_out_scheduled = False
        while self._waiters:
            guard = self._pool.try_claim(self.pool_name)
            if guard is None:
                return
            wait = self._waiters.popleft()
            self._budget._changed(-1)
            self.changes.notify()
            try:
                wait._answer(guard)
            except Exception:
                # One waiter's failure must not keep the slots from the others.
                logger.exception("a buffered request failed to take its slot")

    def shut_down(self) -> None:
        self._shutting_down = True
        while self._waiters:
            wait = self._waiters.popleft()
            self._budget._changed(-1)
            self.changes.notify()
            wait._answer(BufferedRequestOutcome.SHUTTING_DOWN)
