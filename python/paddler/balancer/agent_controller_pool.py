"""Every connected agent, and the choice of where a request goes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from paddler.balancer.agent_controller import AgentController
from paddler.balancer.agent_controller_slot_guard import AgentControllerSlotGuard
from paddler.balancer.change_notifier import ChangeNotifier


class AgentControllerPool:
    def __init__(self) -> None:
        self.agents: dict[str, AgentController] = {}
        self.changes = ChangeNotifier()
        # Set by the buffered request manager: capacity may have appeared.
        self.on_capacity: Callable[[], None] = lambda: None

    def register(self, controller: AgentController) -> AgentController | None:
        """Adds the agent; returns the controller it replaced (same id, a stale connection)."""
        replaced = self.agents.get(controller.id)
        controller.on_status_changed = self._status_changed
        self.agents[controller.id] = controller
        self._status_changed(controller)
        return replaced

    def deregister(self, controller: AgentController) -> None:
        if self.agents.get(controller.id) is controller:
            del self.agents[controller.id]
            self.changes.notify()

    def try_claim(self) -> AgentControllerSlotGuard | None:
        """Claims a slot on the least busy agent (highest free-slot ratio), or None when all are full."""
        best: AgentController | None = None
        best_ratio = 0.0
        for controller in self.agents.values():
            total = controller.slots_total
            free = total - controller.slots_claimed
            # An agent without a model reports zero slots and gets nothing.
            if free <= 0:
                continue
            ratio = free / total
            if ratio > best_ratio:
                best, best_ratio = controller, ratio
        if best is None:
            return None
        best.slots_claimed += 1
        return AgentControllerSlotGuard(best, self._release)

    def _release(self, controller: AgentController) -> None:
        controller.slots_claimed -= 1
        if not controller.closed:
            self.on_capacity()

    def _status_changed(self, _controller: AgentController) -> None:
        self.changes.notify()
        self.on_capacity()

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
