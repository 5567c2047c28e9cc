"""Every model pool of the cluster by name: their settings (persisted), the OpenAI `model` each
answers to, and which agents serve them.

An agent started with `--pool NAME` serves that pool; every other agent starts in `default` and
is moved by demand (pool_placement.py). A cluster with only `default` behaves as one without pools.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass
from typing import Any

from paddler.balancer.dispatch.agent_controller import AgentController
from paddler.balancer.dispatch.agent_controller_pool import AgentControllerPool
from paddler.balancer.dispatch.buffered_request_manager import BufferBudget, BufferedRequestManager
from paddler.balancer.dispatch.change_notifier import ChangeNotifier
from paddler.balancer.dispatch.model_pool import ModelPool
from paddler.balancer.dispatch.state_database import StateDatabase
from paddler.balancer.dispatch.state_database_errors import StateConflict, StateDatabaseUnavailable
from paddler.protocol.model_pool import DEFAULT_POOL, MAX_POOLS, ModelPoolSettings

logger = logging.getLogger(__name__)


class PoolChange(enum.Enum):
    CREATED = enum.auto()
    UPDATED = enum.auto()
    DELETED = enum.auto()
    NOT_FOUND = enum.auto()
    DEFAULT_CANNOT_BE_DELETED = enum.auto()
    TOO_MANY_POOLS = enum.auto()
    # Other balancers kept changing the pools under this change (etcd): try again.
    CONFLICT = enum.auto()


# A change checked again against pools another balancer wrote meanwhile, at most this often.
_CONFLICT_RETRIES = 5


@dataclass(frozen=True, slots=True)
class NameTaken:
    """An alias of the new settings names another pool already."""

    name: str
    pool: str


class ModelPools:
    def __init__(
        self,
        agents: AgentControllerPool,
        database: StateDatabase,
        budget: BufferBudget,
        buffered_request_timeout_s: float,
    ) -> None:
        self._agents = agents
        self._database = database
        self._budget = budget
        self._timeout_s = buffered_request_timeout_s
        self.pools: dict[str, ModelPool] = {}
        # A pool was created, changed or deleted (agents may have a new state to apply).
        self.changes = ChangeNotifier()
        self.default = self._new_pool(DEFAULT_POOL, None)

    def _new_pool(self, name: str, settings: ModelPoolSettings | None) -> ModelPool:
        buffer = BufferedRequestManager(
            self._agents, self._budget.max_buffered_requests, self._timeout_s, name, self._budget
        )
        pool = ModelPool(name, settings, buffer)
        self.pools[name] = pool
        return pool

    async def load(self) -> None:
        """Reads the stored pools at startup; agents get their states as they join.

        A shared database (etcd) that cannot be reached now is read by `run` once it answers.
        """
        try:
            stored = await self._database.load()
        except StateDatabaseUnavailable as error:
            logger.warning("starting without model pools: %s", error)
            return
        self.apply_stored(stored or {})

    async def run(self, shutdown: asyncio.Event) -> None:
        """Applies the pools other balancers store (etcd), until shutdown."""
        await self._database.run(shutdown, self.apply_stored)

    def apply_stored(self, stored: dict[str, ModelPoolSettings]) -> None:
        """Makes the pools what the database holds: created, changed, or deleted (a deleted pool
        drains its requests, as one deleted here). `default` is never deleted."""
        changed = False
        for name, settings in stored.items():
            pool = self.pools.get(name)
            if pool is None:
                self._new_pool(name, settings)
                logger.info("model pool %s created (state database)", name)
                changed = True
            elif pool.deleting or pool.settings != settings or pool.applicable_state is None:
                pool.deleting = False
                pool.configure(settings)
                changed = True
        for name, pool in list(self.pools.items()):
            if name not in stored and pool is not self.default and not pool.deleting:
                pool.deleting = True
                logger.info(
                    "model pool %s deleted (state database); it drains %d requests", name, pool.in_flight
                )
                self.request_ended(pool, counted=False)
                changed = True
        if changed:
            self.changes.notify()

    # -- routing --------------------------------------------------------------

    def resolve(self, model: str | None) -> ModelPool | None:
        """The pool an OpenAI `model` (a name or an alias) selects; None when there is none.

        While `default` is the only pool, it serves any model, as a single-model server does.
        """
        serving = [pool for pool in self.pools.values() if not pool.deleting]
        if len(serving) == 1 and serving[0] is self.default:
            return self.default
        if not model:
            return self.default
        for pool in serving:
            if model == pool.name or model in pool.settings.aliases:
                return pool
        return None

    @property
    def several(self) -> bool:
        """Whether a pool other than `default` exists (the `model` field then routes)."""
        return any(pool is not self.default and not pool.deleting for pool in self.pools.values())

    # -- changes --------------------------------------------------------------

    def stored_settings(self) -> dict[str, ModelPoolSettings]:
        return {
            name: pool.settings
            for name, pool in self.pools.items()
            if not pool.deleting and (pool is not self.default or pool.applicable_state is not None)
        }

    async def put(self, name: str, settings: ModelPoolSettings) -> PoolChange | NameTaken:
        """Raises StateDatabaseUnavailable (nothing changed) or OSError (a file not written)."""
        for _ in range(_CONFLICT_RETRIES):
            try:
                return await self._put(name, settings)
            except StateConflict as conflict:
                # Checked again against what the other balancer wrote.
                self.apply_stored(conflict.pools)
        return PoolChange.CONFLICT

    async def _put(self, name: str, settings: ModelPoolSettings) -> PoolChange | NameTaken:
        for pool in self.pools.values():
            if pool.name == name or pool.deleting:
                continue
            for taken in (name, *settings.aliases):
                if taken in pool.names():
                    return NameTaken(taken, pool.name)
        existing = self.pools.get(name)
        if existing is None and len(self.pools) >= MAX_POOLS:
            return PoolChange.TOO_MANY_POOLS
        stored = self.stored_settings()
        stored[name] = settings
        # Stored first: what agents run is always what survives a restart.
        await self._database.store(stored)
        existing = self.pools.get(name)
        if existing is not None and existing.deleting:
            # Deleted and still draining: it comes back with its buffer and requests.
            existing.deleting = False
        if existing is None:
            self._new_pool(name, settings)
            logger.info("model pool %s created", name)
            change = PoolChange.CREATED
        else:
            existing.configure(settings)
            change = PoolChange.UPDATED
        self.changes.notify()
        return change

    async def delete(self, name: str) -> PoolChange:
        """Raises StateDatabaseUnavailable (nothing changed) or OSError (a file not written)."""
        for _ in range(_CONFLICT_RETRIES):
            try:
                return await self._delete(name)
            except StateConflict as conflict:
                self.apply_stored(conflict.pools)
        return PoolChange.CONFLICT

    async def _delete(self, name: str) -> PoolChange:
        if name == DEFAULT_POOL:
            return PoolChange.DEFAULT_CANNOT_BE_DELETED
        pool = self.pools.get(name)
        if pool is None or pool.deleting:
            return PoolChange.NOT_FOUND
        stored = self.stored_settings()
        del stored[name]
        await self._database.store(stored)
        if pool.deleting:
            return PoolChange.DELETED  # the watch applied it meanwhile
        pool.deleting = True
        logger.info("model pool %s deleted; it drains %d requests", name, pool.in_flight)
        self.request_ended(pool, counted=False)
        self.changes.notify()
        return PoolChange.DELETED

    def request_ended(self, pool: ModelPool, counted: bool = True) -> None:
        if counted:
            pool.request_ended()
        if pool.deleting and pool.in_flight == 0 and self.pools.get(pool.name) is pool:
            # Drained: its agents that may serve another pool go back to the default one.
            del self.pools[pool.name]
            pool.buffer.shut_down()
            for controller in self._agents.in_pool(pool.name):
                if controller.pinned_pool != pool.name:
                    self._agents.move(controller, DEFAULT_POOL)
            logger.info("model pool %s is gone", pool.name)
            self.changes.notify()

    # -- agents ---------------------------------------------------------------

    def state_for(self, controller: AgentController) -> dict[str, Any] | None:
        """What the agent should apply: its pool's state, or None (nothing to apply yet)."""
        pool = self.pools.get(controller.pool_name or "")
        return pool.applicable_state if pool is not None else None

    def shut_down(self) -> None:
        for pool in list(self.pools.values()):
            pool.buffer.shut_down()

    # -- views ----------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {"pools": [self.view(pool) for pool in self.pools.values()]}

    def view(self, pool: ModelPool) -> dict[str, Any]:
        view: dict[str, Any] = {"name": pool.name}
        view.update(pool.settings.model_dump(mode="json"))
        view["agents"] = [controller.id for controller in self._agents.in_pool(pool.name)]
        view["requests_in_flight"] = pool.in_flight
        view["buffered_requests"] = pool.buffer.buffered_requests_current
        view["deleting"] = pool.deleting
        view["placements"] = list(pool.placements)
        return view
