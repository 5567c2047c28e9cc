"""A slot claimed on an agent; released exactly once, on every path."""

from __future__ import annotations

from collections.abc import Callable

from paddler.balancer.dispatch.agent_controller import AgentController


class AgentControllerSlotGuard:
    __slots__ = ("_on_release", "_released", "controller")

    def __init__(self, controller: AgentController, on_release: Callable[[AgentController], None]) -> None:
        self.controller = controller
        self._on_release = on_release
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._on_release(self.controller)
