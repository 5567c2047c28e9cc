"""Pushes to every agent the desired state of the model pool it serves, whenever that changes."""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

from paddler.balancer.dispatch.agent_controller import AgentController
from paddler.balancer.dispatch.agent_controller_pool import AgentControllerPool
from paddler.balancer.dispatch.leadership import Leadership
from paddler.balancer.dispatch.model_pools import ModelPools, NameTaken, PoolChange
from paddler.protocol import agent_socket
from paddler.protocol.agent_socket import STATE_IDS, BalancerMethod
from paddler.protocol.balancer_desired_state import BalancerDesiredState
from paddler.protocol.model_pool import DEFAULT_POOL

logger = logging.getLogger(__name__)


class ReconciliationService:
    def __init__(self, agents: AgentControllerPool, pools: ModelPools, leadership: Leadership) -> None:
        self._agents = agents
        self.pools = pools
        # Only the cluster's leader pushes states: balancers that disagreed for a moment
        # (one saw a change first) would make an agent load a model twice.
        self.leadership = leadership
        self._state_ids = itertools.count(1)

    # Paddler's single desired state is the default pool's.

    @property
    def desired_state(self) -> BalancerDesiredState:
        return self.pools.default.settings.desired_state

    @property
    def applicable_state(self) -> dict[str, Any] | None:
        return self.pools.default.applicable_state

    async def set_desired_state(self, state: BalancerDesiredState) -> PoolChange | NameTaken:
        """Raises StateDatabaseUnavailable (nothing changed) or OSError (a file not written)."""
        settings = self.pools.default.settings.model_copy(update={"desired_state": state})
        return await self.pools.put(DEFAULT_POOL, settings)

    def agent_joined(self, controller: AgentController) -> None:
        self._push_if_changed(controller)

    def _push_if_changed(self, controller: AgentController) -> bool:
        if not self.leadership.is_leader:
            return False
        # An agent being moved gets its new pool's state now: it finishes its
        # requests in flight before it replaces its model, and gets no new one meanwhile.
        pool = self.pools.pools.get(controller.switching_to or controller.pool_name or "")
        if pool is None or pool.applicable_state is None:
            return False
        pushed = (pool.name, pool.version)
        if controller.pushed_state == pushed:
            return False
        controller.pushed_state = pushed
        params: dict[str, Any] = {"desired_state": pool.applicable_state}
        if STATE_IDS in controller.capabilities:
            controller.pushed_state_id = next(self._state_ids)
            params["state_id"] = controller.pushed_state_id
            # Echoed in the agent's statuses: every balancer learns which pool it serves.
            params["pool"] = pool.name
        controller.send(agent_socket.notification(BalancerMethod.SET_STATE, params))
        return True

    def push(self, controller: AgentController) -> None:
        """Pushes the agent its pool's state now if it has not had it (the placement moved it)."""
        self._push_if_changed(controller)

    async def run(self, shutdown: asyncio.Event) -> None:
        seen = self.pools.changes.version
        led = self.leadership.changes.version
        while not shutdown.is_set():
            waiting = asyncio.create_task(self.pools.changes.wait_for_change(seen))
            leading = asyncio.create_task(self.leadership.changes.wait_for_change(led))
            stopping = asyncio.create_task(shutdown.wait())
            await asyncio.wait({waiting, leading, stopping}, return_when=asyncio.FIRST_COMPLETED)
            for task in (waiting, leading, stopping):
                task.cancel()
            if shutdown.is_set():
                return
            seen = self.pools.changes.version
            if self.leadership.changes.version != led:
                led = self.leadership.changes.version
                # A new leader pushes every agent its state once: an agent that runs it
                # already only echoes the id.
                for controller in self._agents.agents.values():
                    controller.pushed_state = None
            pushed = sum(
                self._push_if_changed(controller) for controller in list(self._agents.agents.values())
            )
            if pushed:
                logger.info("pushed a new desired state to %d agents", pushed)
