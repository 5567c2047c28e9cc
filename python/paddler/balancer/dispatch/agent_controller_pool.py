"""Every connected agent, and the choice of where a request goes."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any

from paddler.balancer.dispatch.agent_controller import AgentController
from paddler.balancer.dispatch.agent_controller_slot_guard import AgentControllerSlotGuard
from paddler.balancer.dispatch.change_notifier import ChangeNotifier
from paddler.balancer.dispatch.listeners import Listeners


class AgentControllerPool:
    """Picks the least busy agent (highest free-slot ratio) in O(log n).

    A heap holds one entry per change of an agent's free slots; entries made
    stale by a later change (or a disconnection) are dropped when they reach
    the top. Each entry is `(-free ratio, order, version, controller)`: the
    order breaks ties first-come-first-served and keeps controllers from
    ever being compared.
    """

    def __init__(self) -> None:
        self.agents: dict[str, AgentController] = {}
        self.changes = ChangeNotifier()
        # Capacity may have appeared: a slot released, an agent's status changed.
        self.capacity: Listeners[None] = Listeners()
        # Each controller's status subscription, ended when it leaves.
        self._subscriptions: dict[AgentController, Callable[[], None]] = {}
        self._heap: list[tuple[float, int, int, AgentController]] = []
        self._order = itertools.count()
        self._versions: dict[AgentController, int] = {}

    def register(self, controller: AgentController) -> AgentController | None:
        """Adds the agent; returns the controller it replaced (same id, a stale connection)."""
        replaced = self.agents.get(controller.id)
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
        total = controller.slots_total
        free = total - controller.slots_claimed
        # An agent without a model reports zero slots and gets nothing.
        if free > 0:
            heapq.heappush(self._heap, (-free / total, next(self._order), version, controller))
        if len(self._heap) > 4 * len(self._versions) + 64:
            self._compact()

    def _compact(self) -> None:
        # Stale entries below the top are never popped: rebuilt from the
        # current entries now and then, so the heap stays O(agents).
        self._heap = [entry for entry in self._heap if self._versions.get(entry[3]) == entry[2]]
        heapq.heapify(self._heap)

    def try_claim(self, avoid: AgentController | None = None) -> AgentControllerSlotGuard | None:
        """Claims a slot on the least busy agent, or None when every agent is full.

        `avoid` (an agent that just failed the request) is taken only when no other has a free slot.
        """
        avoided: tuple[float, int, int, AgentController] | None = None
        while self._heap:
            entry = heapq.heappop(self._heap)
            _, _, version, controller = entry
            if self._versions.get(controller) != version or controller.free_slots <= 0:
                continue  # stale: the agent changed, left, or its breaker opened since
            if controller is avoid:
                avoided = entry
                continue
            if avoided is not None:
                heapq.heappush(self._heap, avoided)
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
        if not controller.closed and controller in self._versions:
            self._index(controller)
            self.capacity.emit(None)

    def _status_changed(self, controller: AgentController) -> None:
        if controller in self._versions or self.agents.get(controller.id) is controller:
            self._index(controller)
        self.changes.notify()
        self.capacity.emit(None)

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
