"""Requests that wait for a free slot, first in first out, each for a bounded time."""

from __future__ import annotations

import asyncio
import enum
from collections import deque

from paddler.balancer.agent_controller import AgentController
from paddler.balancer.agent_controller_pool import AgentControllerPool
from paddler.balancer.agent_controller_slot_guard import AgentControllerSlotGuard
from paddler.balancer.change_notifier import ChangeNotifier


class BufferedRequestOutcome(enum.Enum):
    TOO_MANY_BUFFERED_REQUESTS = enum.auto()
    TIMEOUT = enum.auto()
    SHUTTING_DOWN = enum.auto()


class BufferedRequestManager:
    def __init__(self, pool: AgentControllerPool, max_buffered_requests: int, timeout_s: float) -> None:
        self._pool = pool
        self._max_buffered_requests = max_buffered_requests
        self._timeout_s = timeout_s
        self._waiters: deque[asyncio.Future[AgentControllerSlotGuard | BufferedRequestOutcome]] = deque()
        self._shutting_down = False
        self.changes = ChangeNotifier()
        pool.on_capacity = self._hand_out_slots

    @property
    def buffered_requests_current(self) -> int:
        return len(self._waiters)

    async def wait_for_slot(
        self, avoid: AgentController | None = None
    ) -> AgentControllerSlotGuard | BufferedRequestOutcome:
        """A slot, on an agent other than `avoid` when one has a free slot now."""
        if self._shutting_down:
            return BufferedRequestOutcome.SHUTTING_DOWN
        # Waiting requests go first: a newcomer never overtakes the queue.
        if not self._waiters:
            guard = self._pool.try_claim(avoid)
            if guard is not None:
                return guard
        # No free slot, we would need to wait. Reject if the buffer is full
        # (0 disables buffering).
        if len(self._waiters) >= self._max_buffered_requests:
            return BufferedRequestOutcome.TOO_MANY_BUFFERED_REQUESTS
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[AgentControllerSlotGuard | BufferedRequestOutcome] = loop.create_future()
        self._waiters.append(waiter)
        self.changes.notify()
        # A timer handle, not asyncio.timeout: the waiter is answered either way,
        # by a slot or by the timeout, whichever comes first.
        timer = loop.call_later(self._timeout_s, _answer, waiter, BufferedRequestOutcome.TIMEOUT)
        try:
            return await waiter
        except asyncio.CancelledError:
            held = _slot_held_by(waiter)
            if held is not None:
                held.release()
            raise
        finally:
            timer.cancel()
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            self.changes.notify()

    def _hand_out_slots(self) -> None:
        while self._waiters:
            waiter = self._waiters[0]
            if waiter.done():  # cancelled, about to leave the queue
                self._waiters.popleft()
                continue
            guard = self._pool.try_claim()
            if guard is None:
                return
            self._waiters.popleft()
            waiter.set_result(guard)

    def shut_down(self) -> None:
        self._shutting_down = True
        while self._waiters:
            waiter = self._waiters.popleft()
            _answer(waiter, BufferedRequestOutcome.SHUTTING_DOWN)


def _answer(
    waiter: asyncio.Future[AgentControllerSlotGuard | BufferedRequestOutcome], outcome: BufferedRequestOutcome
) -> None:
    if not waiter.done():
        waiter.set_result(outcome)


def _slot_held_by(
    waiter: asyncio.Future[AgentControllerSlotGuard | BufferedRequestOutcome],
) -> AgentControllerSlotGuard | None:
    # Handed a slot in the very step the waiting task was cancelled.
    if not waiter.done() or waiter.cancelled():
        return None
    result = waiter.result()
    return result if isinstance(result, AgentControllerSlotGuard) else None
