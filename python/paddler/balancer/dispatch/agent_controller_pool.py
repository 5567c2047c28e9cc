"""Every connected agent, and the choice of where a request goes."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from typing import Any

from paddler.balancer.dispatch.agent_controller import AgentController
from paddler.balancer.dispatch.agent_controller_slot_guard import AgentControllerSlotGuard
from paddler.balancer.dispatch.change_notifier import ChangeNotifier
from paddler.balancer.dispatch.listeners import Listeners
from paddler.protocol.model_pool import DEFAULT_POOL


class AgentControllerPool:
    """Picks the least busy agent (highest free-slot ratio) of a model pool in O(log n).

    Each model pool has a heap, holding one entry per change of an agent's
    free slots; entries made stale by a later change (or a disconnection, or
    the agent's move to another pool) are dropped when they reach the top.
    Each entry is `(-free ratio, order, version, controller)`: the order
    breaks ties first-come-first-served and keeps controllers from ever being
    compared. An agent in no pool (`pool_name` None) gets nothing.
    """

    def __init__(self) -> None:
        self.agents: dict[str, AgentController] = {}
        self.changes = ChangeNotifier()
        # Capacity may have appeared in a pool (None: in any): a slot released,
        # an agent's status changed, an agent joined a pool.
        self.capacity: Listeners[str | None] = Listeners()
        # Each controller's status subscription, ended when it leaves.
        self._subscriptions: dict[AgentController, Callable[[], None]] = {}
        # A claimed slot came back (placement waits for an agent to drain).
        self.released: Listeners[AgentController] = Listeners()
        self._heaps: dict[str, list[tuple[float, int, int, AgentController]]] = {}
        self._order = itertools.count()
        self._versions: dict[AgentController, int] = {}

    def register(self, controller: AgentController) -> AgentController | None:
        """Adds the agent; returns the controller it replaced (same id, a stale connection)."""
        replaced = self.agents.get(controller.id)
        if controller.pool_name is None:
            # Pinned agents serve their pool; the others start in the default one.
            controller.pool_name = controller.pinned_pool or DEFAULT_POOL
        if controller not in self._subscriptions:
            self._subscriptions[controller] = controller.status_changes.subscribe(self._status_changed)
        self.agents[controller.id] = controller
        self._status_changed(controller)
        return replaced

    def deregister(self, controller: AgentController) -> None:
        self._versions.pop(controller, None)
        unsubscribe = self._subscriptions.pop(controller, None)
        if unsubscribe is not None:
            unsubscribe()
        if self.agents.get(controller.id) is controller:
            del self.agents[controller.id]
            self.changes.notify()

    def _index(self, controller: AgentController) -> None:
        version = self._versions.get(controller, 0) + 1
        self._versions[controller] = version
        if controller.pool_name is None:
            return
        total = controller.slots_total
        # Beyond this balancer's own claims: the slots its other balancers hold (an agent shared
        # by several) and a refusal not yet explained by a status.
        free = controller.free_slots
        heap = self._heaps.setdefault(controller.pool_name, [])
        # An agent without a model reports zero slots and gets nothing.
        if free > 0:
            heapq.heappush(heap, (-free / total, next(self._order), version, controller))
        if len(heap) > 4 * len(self._versions) + 64:
            self._compact(controller.pool_name)

    def _compact(self, pool_name: str) -> None:
        # Stale entries below the top are never popped: rebuilt from the
        # current entries now and then, so the heap stays O(agents).
        heap = [entry for entry in self._heaps[pool_name] if self._versions.get(entry[3]) == entry[2]]
        heapq.heapify(heap)
        self._heaps[pool_name] = heap

    def move(self, controller: AgentController, pool_name: str | None) -> None:
        """Puts the agent in another pool (None: in none); its slots claimed before stay claimed."""
        if controller.pool_name == pool_name:
            return
        controller.pool_name = pool_name
        if controller in self._versions:
            self._index(controller)
        self.changes.notify()
        self.capacity.emit(pool_name)

    def in_pool(self, pool_name: str) -> list[AgentController]:
        return [controller for controller in self.agents.values() if controller.pool_name == pool_name]

    def try_claim(
        self, pool_name: str, avoid: AgentController | None = None
    ) -> AgentControllerSlotGuard | None:
        """Claims a slot on the pool's least busy agent, or None when each of them is full.

        `avoid` (an agent that just failed the request) is taken only when no other has a free slot.
        """
        heap = self._heaps.get(pool_name)
        if not heap:
            return None
        avoided: tuple[float, int, int, AgentController] | None = None
        while heap:
            entry = heapq.heappop(heap)
            _, _, version, controller = entry
            if (
                self._versions.get(controller) != version
                or controller.free_slots <= 0
                or controller.pool_name != pool_name
            ):
                continue  # stale: the agent changed, left, moved, or its breaker opened since
            if controller is avoid:
                avoided = entry
                continue
            if avoided is not None:
                heapq.heappush(heap, avoided)
            return self._claim(controller)
        if avoided is not None:
            return self._claim(avoided[3])
        return None

    def _claim(self, controller: AgentController) -> AgentControllerSlotGuard:
        controller.slots_claimed += 1
        self._index(controller)
        return AgentControllerSlotGuard(controller, self._release)

    def _release(self, controller: AgentController) -> None:
        controller.slots_claimed -= 1
        self.released.emit(controller)
        yielding_s = controller.yield_freed_slot()
        if yielding_s:
            # Offered to this balancer's buffer again once the others had their chance.
            asyncio.get_running_loop().call_later(yielding_s, self._end_yield, controller)
        if not controller.closed and controller in self._versions:
            self._index(controller)
            self.capacity.emit(controller.pool_name)

    def _end_yield(self, controller: AgentController) -> None:
        controller.end_yield()
        if not controller.closed and controller in self._versions:
            self._index(controller)
            self.capacity.emit(controller.pool_name)

    def _status_changed(self, controller: AgentController) -> None:
        if controller in self._versions or self.agents.get(controller.id) is controller:
            self._index(controller)
        self.changes.notify()
        self.capacity.emit(controller.pool_name)

    def get(self, agent_id: str) -> AgentController | None:
        return self.agents.get(agent_id)

    def snapshot(self) -> dict[str, Any]:
        return {"agents": [controller.snapshot() for controller in self.agents.values()]}

    @property
    def slots_total(self) -> int:
        return sum(controller.slots_total for controller in self.agents.values())

    @property
    def slots_processing(self) -> int:
        return sum(controller.status.slots_processing for controller in self.agents.values())
