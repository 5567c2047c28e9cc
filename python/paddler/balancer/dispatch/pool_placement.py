"""Which model pool each unpinned agent serves: decided by demand, one move at a time, logged.

Every pool first gets its `min_agents`. A pool with requests waiting in its buffer (none of its
agents has a free slot) and fewer than `max_agents` agents takes one more: from no pool if an
agent serves none, else from the pool that least needs it: one above its own `min_agents`, with
no request in flight or waiting, idle for its `keep_alive_s`, the least recently used first.

A pool's last agent goes to a pool that already has agents only once it has been idle for as long
as getting one back would cost it (never sooner than its `keep_alive_s`): a request that comes
back to a pool without agents, while the others are busy, waits for the starving rule below and
then for a model load (the pool's last measured move; `_UNKNOWN_LOAD_S` until one is seen).
Waiting as long as the way back costs before giving the last agent up is the rent-or-buy rule:
it never loses more than twice what the best choice in hindsight would. Without it two pools with
steady traffic traded their agents at every lull (a `keep_alive_s` of 0 made each gap between
requests "idle"), clients fell into step, and both agents swung from pool to pool together, a
model load each time. A pool with no agent at all still takes an idle one at once, as
`keep_alive_s` says.

A pool with no agent at all must not wait for another pool to fall idle: under steady traffic
that never happens, and its requests would end at the buffer's timeout. Once its first request
in line has waited `_STARVING_AFTER_S` (at most half the buffer's timeout), it takes an agent from
a busy pool (above that pool's `min_agents`, the pool with the most agents, then the least recently
used). The agent finishes its requests in flight first, like any moved agent; the pool it left
gets it back by the same rule when its own requests wait. One agent and two busy models thus take
turns, as llama-server's router and llama-swap swap on demand.

A moved agent serves no pool while it moves (so no request reaches its old model), gets its new
pool's state at once (it finishes its requests in flight first, then loads the new model), and
joins the new pool when its status says it applied that state (the `state_id` it echoes). Only
agents that echo state ids (our agents: capability "state_ids") and were not started with
`--pool` are moved. A move whose target pool is deleted returns the agent to `default`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from paddler.balancer.dispatch.agent_controller import AgentController
from paddler.balancer.dispatch.agent_controller_pool import AgentControllerPool
from paddler.balancer.dispatch.balancer_metrics import BalancerMetrics
from paddler.balancer.dispatch.buffered_request_manager import BufferBudget
from paddler.balancer.dispatch.model_pool import ModelPool
from paddler.balancer.dispatch.model_pools import ModelPools
from paddler.balancer.dispatch.pool_demand import PoolDemand
from paddler.balancer.dispatch.reconciliation_service import ReconciliationService
from paddler.protocol.agent_socket import STATE_IDS
from paddler.protocol.agent_status import AgentStateApplicationStatus
from paddler.protocol.model_pool import DEFAULT_POOL

logger = logging.getLogger(__name__)

# Decisions are also taken this often without an event: keep-alive periods run out silently.
_TICK_S = 0.5
# How long the first request of a pool without agents waits before a busy pool gives one up.
_STARVING_AFTER_S = 2.0
# What a pool's model load is taken to cost before a move into the pool has been timed.
_UNKNOWN_LOAD_S = 1.0


class PoolPlacement:
    def __init__(
        self,
        agents: AgentControllerPool,
        pools: ModelPools,
        reconciliation: ReconciliationService,
        budget: BufferBudget,
        metrics: BalancerMetrics,
        demand: PoolDemand | None = None,
    ) -> None:
        # Every balancer's buffers and requests (several balancers: the leader places for all).
        self._demand = demand or PoolDemand()
        self._agents = agents
        self._pools = pools
        self._reconciliation = reconciliation
        self._budget = budget
        self._metrics = metrics
        # Pool name -> seconds its last incoming agent took from the move to serving (a model load).
        self._load_s: dict[str, float] = {}
        # Agents moving now -> when their move began.
        self._moving_since: dict[AgentController, float] = {}

    async def run(self, shutdown: asyncio.Event) -> None:
        notifiers = (
            self._agents.changes,
            self._pools.changes,
            self._budget.changes,
            self._reconciliation.leadership.changes,
            self._demand.changes,
        )
        while not shutdown.is_set():
            try:
                self.place(time.monotonic())
            except Exception:
                # A placement bug must not stop serving: the next event tries again.
                logger.exception("placing agents in model pools failed")
            seen = [notifier.version for notifier in notifiers]
            waits = [
                asyncio.ensure_future(n.wait_for_change(v)) for n, v in zip(notifiers, seen, strict=True)
            ]
            stopping = asyncio.ensure_future(shutdown.wait())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_TICK_S):
                    await asyncio.wait([*waits, stopping], return_when=asyncio.FIRST_COMPLETED)
            for wait in [*waits, stopping]:
                wait.cancel()

    # -- decisions -------------------------------------------------------------

    def place(self, now: float) -> None:
        if not self._reconciliation.leadership.is_leader:
            self._follow_reports()
            return
        self._finish_moves(now)
        serving = {name: self._count(name) for name in self._pools.pools}
        for pool in self._wanting(serving, now):
            donor = self._donor(pool, serving, now)
            if donor is not None:
                reason = "min_agents" if serving[pool.name] < pool.settings.min_agents else "waiting_requests"
                self._move(donor, pool, reason, serving, now)
                continue
            if serving[pool.name] == 0 and self._starving(pool, now):
                donor = self._busy_donor(pool, serving, now)
                if donor is not None:
                    self._move(donor, pool, "starving", serving, now)

    def _follow_reports(self) -> None:
        """Another balancer leads: each unpinned agent serves the pool it says it applied."""
        for controller in list(self._agents.agents.values()):
            controller.switching_to = None
            reported = controller.reported_pool
            if controller.pinned_pool is not None or reported is None or reported == controller.pool_name:
                continue
            target = self._pools.pools.get(reported)
            if target is None or target.deleting:
                continue
            logger.info("agent %s serves %s (placed by the leader)", controller.id, reported)
            self._agents.move(controller, reported)

    def _starving(self, pool: ModelPool, now: float) -> bool:
        waited = self._demand.waited_s(pool, now)
        if waited is None:
            return False
        return waited >= self._starving_after_s(pool)

    @staticmethod
    def _starving_after_s(pool: ModelPool) -> float:
        return min(_STARVING_AFTER_S, pool.buffer.timeout_s / 2)

    def _busy_donor(self, target: ModelPool, serving: dict[str, int], now: float) -> AgentController | None:
        """An agent of a busy pool that can spare one: the pool with the most agents above its
        min_agents, then the least recently used."""
        best: tuple[int, float, AgentController] | None = None
        for controller in self._agents.agents.values():
            if not self._movable(controller) or controller.pool_name == target.name:
                continue
            source = self._pools.pools.get(controller.pool_name or "")
            if source is None or serving[source.name] <= source.settings.min_agents:
                continue
            rank = (-serving[source.name], -self._demand.idle_s(source, now))
            if best is None or rank < best[:2]:
                best = (*rank, controller)
        return best[2] if best is not None else None

    def _movable(self, controller: AgentController) -> bool:
        return (
            STATE_IDS in controller.capabilities
            and controller.pinned_pool is None
            and controller.switching_to is None
            and not controller.closed
        )

    def _count(self, name: str) -> int:
        """Agents serving the pool or moving to it."""
        return sum(
            1
            for controller in self._agents.agents.values()
            if controller.switching_to == name
            or (controller.switching_to is None and controller.pool_name == name)
        )

    def _wanting(self, serving: dict[str, int], now: float) -> list[ModelPool]:
        """Pools that should get one more agent, those under their min_agents first."""
        under_minimum: list[ModelPool] = []
        waiting: list[ModelPool] = []
        for pool in self._pools.pools.values():
            if pool.deleting or pool.applicable_state is None:
                continue
            count = serving[pool.name]
            limit = pool.settings.max_agents
            if limit is not None and count >= limit:
                continue
            if count < pool.settings.min_agents:
                under_minimum.append(pool)
            elif self._demand.buffered(pool) > 0 and not self._moving_to(pool.name):
                waiting.append(pool)
        # The longest-waiting demand first: the pool whose last request is oldest.
        waiting.sort(key=lambda pool: -self._demand.idle_s(pool, now))
        return under_minimum + waiting

    def _moving_to(self, name: str) -> bool:
        return any(controller.switching_to == name for controller in self._agents.agents.values())

    def _donor(self, target: ModelPool, serving: dict[str, int], now: float) -> AgentController | None:
        best: tuple[float, AgentController] | None = None
        for controller in self._agents.agents.values():
            if not self._movable(controller) or controller.pool_name == target.name:
                continue
            source = self._pools.pools.get(controller.pool_name or "")
            if source is None:
                rank = float("-inf")  # serves no pool: free to take
            elif self._may_give(source, target, serving, now):
                rank = -self._demand.idle_s(source, now)
            else:
                continue
            if best is None or rank < best[0]:
                best = (rank, controller)
        return best[1] if best is not None else None

    def _may_give(self, source: ModelPool, target: ModelPool, serving: dict[str, int], now: float) -> bool:
        idle_enough = float(source.settings.keep_alive_s)
        if serving[source.name] == 1 and serving[target.name] > 0:
            # Its last agent, for a pool that is served already: not before the way back's worth
            # of idling (a starving wait, then a model load).
            way_back = self._starving_after_s(source) + self._load_s.get(source.name, _UNKNOWN_LOAD_S)
            idle_enough = max(idle_enough, way_back)
        return (
            serving[source.name] > source.settings.min_agents
            and self._demand.in_flight(source) == 0
            and self._demand.idle_s(source, now) >= idle_enough
        )

    def _move(
        self, controller: AgentController, target: ModelPool, reason: str, serving: dict[str, int], now: float
    ) -> None:
        source = controller.pool_name
        logger.info(
            "model pool placement: agent %s (%s) moves from %s to %s (%s)",
            controller.id,
            controller.name,
            source or "no pool",
            target.name,
            reason.replace("_", " "),
        )
        self._metrics.placements.inc(label_value=reason)
        self._record(target, controller, source, reason)
        controller.switching_to = target.name
        self._moving_since[controller] = now
        self._agents.move(controller, None)
        if source is not None and source in serving:
            serving[source] -= 1
        serving[target.name] += 1
        self._reconciliation.push(controller)

    @staticmethod
    def _record(target: ModelPool, controller: AgentController, source: str | None, reason: str) -> None:
        """Kept for the pool's view (the panel shows them), beside the log line."""
        target.placements.append(
            {
                "at": time.time(),
                "agent_id": controller.id,
                "agent_name": controller.name,
                "from": source,
                "to": target.name,
                "reason": reason,
            }
        )

    def _finish_moves(self, now: float) -> None:
        for controller in list(self._moving_since):
            if controller.switching_to is None or controller.closed:
                del self._moving_since[controller]
        for controller in list(self._agents.agents.values()):
            name = controller.switching_to
            if name is None:
                continue
            target = self._pools.pools.get(name)
            if target is None or target.deleting:
                controller.switching_to = None
                logger.info(
                    "model pool placement: agent %s returns to %s (its pool went)",
                    controller.id,
                    DEFAULT_POOL,
                )
                self._agents.move(controller, DEFAULT_POOL)
                self._record(self._pools.default, controller, name, "pool_deleted")
                self._reconciliation.push(controller)
                continue
            if (
                controller.applied_state_id is not None
                and controller.applied_state_id == controller.pushed_state_id
                and controller.status.state_application_status is AgentStateApplicationStatus.APPLIED
                and controller.status.slots_total > 0
            ):
                controller.switching_to = None
                began = self._moving_since.pop(controller, None)
                if began is not None:
                    self._load_s[name] = now - began
                logger.info("model pool placement: agent %s serves %s now", controller.id, name)
                self._agents.move(controller, name)
