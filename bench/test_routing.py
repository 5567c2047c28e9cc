"""Routing decisions of the balancer, in memory, without processes: 100 agents in 8 model pools.

Two decisions: where one request goes (its `model` resolved to a pool, a slot claimed on the
pool's least busy agent, and released), and one pass of the pool placement
(`PoolPlacement.place`), which runs on every change of agents, pools or buffers. The placement's
cluster is a busy one where no agent may move: the most frequent pass, which still looks at
every agent for a donor; a pass that moves an agent changes the cluster it measures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from paddler.balancer.dispatch.agent_controller import AgentController
from paddler.balancer.dispatch.agent_controller_pool import AgentControllerPool
from paddler.balancer.dispatch.agent_controller_slot_guard import AgentControllerSlotGuard
from paddler.balancer.dispatch.balancer_metrics import BalancerMetrics
from paddler.balancer.dispatch.buffered_request_manager import BufferBudget, BufferedWait
from paddler.balancer.dispatch.leadership import Leadership
from paddler.balancer.dispatch.model_pools import ModelPools
from paddler.balancer.dispatch.pool_placement import PoolPlacement
from paddler.balancer.dispatch.reconciliation_service import ReconciliationService
from paddler.balancer.dispatch.state_database import MemoryStateDatabase
from paddler.protocol.agent_socket import STATE_IDS, AgentMethod, notification
from paddler.protocol.model_pool import DEFAULT_POOL, ModelPoolSettings

AGENTS = 100
POOLS = 8
SLOTS = 4
# Pools 1 to 3 have half their slots taken by requests in flight; the others are idle, used
# within their keep-alive (so none may give an agent away).
BUSY_POOLS = range(1, 4)
# The OpenAI `model` a dispatched request names: an alias of a busy pool.
DISPATCHED_MODEL = "alias-2"


def pool_name(index: int) -> str:
    return DEFAULT_POOL if index == 0 else f"model-{index}"


def pool_settings(index: int) -> ModelPoolSettings:
    return ModelPoolSettings.model_validate(
        {
            "desired_state": {"model": {"LocalToAgent": f"/models/model-{index}.gguf"}},
            "aliases": [f"alias-{index}", f"family/model-{index}:latest"],
            "keep_alive_s": 300.0,
        }
    )


def applied_status(controller: AgentController) -> bytes:
    """The agent's status once it applied the state it was pushed: its slots, free."""
    status = {
        "slots_total": SLOTS,
        "desired_slots_total": SLOTS,
        "model_path": f"/models/{controller.pool_name}.gguf",
        "state_application_status": "Applied",
    }
    params: dict[str, Any] = {
        "version": 1,
        "status": status,
        "applied_state_id": controller.pushed_state_id,
        "pool": controller.pool_name,
    }
    return orjson.dumps(notification(AgentMethod.UPDATE_AGENT_STATUS, params))


@dataclass
class Cluster:
    agents: AgentControllerPool
    pools: ModelPools
    placement: PoolPlacement
    # The slots taken by the requests in flight: kept, so that they stay taken.
    held: list[AgentControllerSlotGuard]


def cluster() -> Cluster:
    agents = AgentControllerPool()
    budget = BufferBudget(max_buffered_requests=1000)
    pools = ModelPools(agents, MemoryStateDatabase(), budget, buffered_request_timeout_s=30.0)
    pools.apply_stored({pool_name(index): pool_settings(index) for index in range(POOLS)})
    reconciliation = ReconciliationService(agents, pools, Leadership("bench"))
    placement = PoolPlacement(agents, pools, reconciliation, budget, BalancerMetrics(agents, budget))
    for index in range(AGENTS):
        controller = AgentController(f"agent-{index}", f"agent-{index}", SLOTS, None, frozenset({STATE_IDS}))
        agents.register(controller)
        agents.move(controller, pool_name(index % POOLS))
        reconciliation.agent_joined(controller)
        controller.handle_frame(applied_status(controller))
    held = []
    for index in BUSY_POOLS:
        pool = pools.pools[pool_name(index)]
        for _ in range(len(agents.in_pool(pool.name)) * SLOTS // 2):
            guard = agents.try_claim(pool.name)
            assert guard is not None
            held.append(guard)
            pool.request_started()
    return Cluster(agents, pools, placement, held)


def dispatch(pools: ModelPools) -> None:
    pool = pools.resolve(DISPATCHED_MODEL)
    assert pool is not None
    answer = pool.buffer.claim(lambda _: None)
    assert isinstance(answer, AgentControllerSlotGuard)
    answer.release()


def test_a_request_is_routed_to_an_agent_among_100_in_8_pools(benchmark: BenchmarkFixture) -> None:
    pools = cluster().pools

    benchmark(dispatch, pools)


@pytest.fixture(scope="module")
def cluster_with_a_full_pool() -> Iterator[Cluster]:
    """The cluster with every slot of `default` taken and one more request waiting for one."""
    busy = cluster()
    default = busy.pools.default
    while (guard := busy.agents.try_claim(default.name)) is not None:
        busy.held.append(guard)
        default.request_started()

    async def wait_for_a_slot() -> BufferedWait:
        # A buffered wait sets its timeout on the running loop. The loop does not run while the
        # placement is measured, so the wait stays in the buffer (its timer never fires).
        waiting = default.buffer.claim(lambda _: None)
        assert isinstance(waiting, BufferedWait)
        return waiting

    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        waiting = runner.run(wait_for_a_slot())
        yield busy
        waiting.cancel()


def test_the_placement_decides_over_100_agents_and_8_pools(
    benchmark: BenchmarkFixture, cluster_with_a_full_pool: Cluster
) -> None:
    busy = cluster_with_a_full_pool
    before = {controller.id: controller.pool_name for controller in busy.agents.agents.values()}

    benchmark(busy.placement.place, time.monotonic())

    after = {controller.id: controller.pool_name for controller in busy.agents.agents.values()}
    assert after == before, "the placement moved an agent: it measured a different cluster each round"
