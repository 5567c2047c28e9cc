"""Holds the desired state and pushes what agents should apply to every agent."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from paddler.balancer.dispatch.agent_controller import AgentController
from paddler.balancer.dispatch.agent_controller_pool import AgentControllerPool
from paddler.balancer.dispatch.change_notifier import ChangeNotifier
from paddler.balancer.dispatch.state_database import StateDatabase
from paddler.protocol import agent_socket
from paddler.protocol.agent_socket import BalancerMethod
from paddler.protocol.balancer_desired_state import BalancerDesiredState

logger = logging.getLogger(__name__)


def applicable_state(desired: BalancerDesiredState) -> dict[str, Any]:
    """What agents apply: the desired state with the chat template override
    resolved (it only counts when `use_chat_template_override` is set)."""
    state = desired.model_dump(mode="json")
    if not desired.use_chat_template_override:
        state["chat_template_override"] = None
    del state["use_chat_template_override"]
    return state


class ReconciliationService:
    def __init__(self, pool: AgentControllerPool, database: StateDatabase) -> None:
        self._pool = pool
        self._database = database
        self.desired_state = BalancerDesiredState()
        self.applicable_state: dict[str, Any] | None = None
        self._changes = ChangeNotifier()

    async def load(self) -> None:
        """Reads the stored state at startup; agents get it as they join."""
        stored = await self._database.load()
        if stored is not None:
            self.desired_state = stored
            self.applicable_state = applicable_state(stored)

    async def set_desired_state(self, state: BalancerDesiredState) -> None:
        # Stored first: what agents run is always what survives a restart.
        await self._database.store(state)
        self.desired_state = state
        self.applicable_state = applicable_state(state)
        self._changes.notify()

    def agent_joined(self, controller: AgentController) -> None:
        if self.applicable_state is not None:
            self._push(controller, self.applicable_state)

    @staticmethod
    def _push(controller: AgentController, state: dict[str, Any]) -> None:
        controller.send(agent_socket.notification(BalancerMethod.SET_STATE, {"desired_state": state}))

    async def run(self, shutdown: asyncio.Event) -> None:
        seen = self._changes.version
        while not shutdown.is_set():
            waiting = asyncio.create_task(self._changes.wait_for_change(seen))
            stopping = asyncio.create_task(shutdown.wait())
            await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            stopping.cancel()
            if shutdown.is_set():
                return
            seen = self._changes.version
            if self.applicable_state is not None:
                logger.info("pushing the desired state to %d agents", len(self._pool.agents))
                for controller in list(self._pool.agents.values()):
                    self._push(controller, self.applicable_state)
