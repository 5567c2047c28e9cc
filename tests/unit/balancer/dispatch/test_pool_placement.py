import time

import orjson

from paddler.balancer.dispatch.agent_controller import AgentController
from paddler.balancer.dispatch.agent_controller_pool import AgentControllerPool
from paddler.balancer.dispatch.balancer_metrics import BalancerMetrics
from paddler.balancer.dispatch.buffered_request_manager import BufferBudget
from paddler.balancer.dispatch.leadership import Leadership
from paddler.balancer.dispatch.model_pools import ModelPools
from paddler.balancer.dispatch.pool_demand import PoolDemand, ReportedDemand
from paddler.balancer.dispatch.pool_placement import PoolPlacement
from paddler.balancer.dispatch.reconciliation_service import ReconciliationService
from paddler.balancer.dispatch.state_database import MemoryStateDatabase
from paddler.protocol.agent_socket import STATE_IDS
from paddler.protocol.balancer_desired_state import BalancerDesiredState
from paddler.protocol.model_pool import ModelPoolSettings


class Placed:
    def __init__(self) -> None:
        self.agents = AgentControllerPool()
        budget = BufferBudget(10)
        self.pools = ModelPools(self.agents, MemoryStateDatabase(), budget, 30.0)
        self.leadership = Leadership("test")
        self.reconciliation = ReconciliationService(self.agents, self.pools, self.leadership)
        self.demand = PoolDemand()
        self.placement = PoolPlacement(
            self.agents,
            self.pools,
            self.reconciliation,
            budget,
            BalancerMetrics(self.agents, budget),
            self.demand,
        )
        self._statuses = 0

    async def pool(self, name: str, **settings: object) -> None:
        state = BalancerDesiredState(model={"LocalToAgent": f"/models/{name}.gguf"})  # type: ignore[arg-type]
        await self.pools.put(name, ModelPoolSettings.model_validate({"desired_state": state, **settings}))

    def agent(self, name: str, pinned: str | None = None, capable: bool = True) -> AgentController:
        capabilities = frozenset({STATE_IDS}) if capable else frozenset()
        controller = AgentController(name, name, 1, pinned, capabilities)
        self.agents.register(controller)
        self.reconciliation.agent_joined(controller)
        self.applied(controller)
        return controller

    def applied(self, controller: AgentController) -> None:
        """The agent reports the last state it was sent as applied, with one slot."""
        self._statuses += 1
        params = {
            "version": self._statuses,
            "status": {"slots_total": 1, "desired_slots_total": 1, "state_application_status": "Applied"},
            "applied_state_id": controller.pushed_state_id,
        }
        message = {"jsonrpc": "2.0", "method": "update_agent_status", "params": params}
        controller.handle_frame(orjson.dumps(message))

    def waiting_request(self, pool: str) -> None:
        answer = self.pools.pools[pool].buffer.claim(lambda _: None)
        assert not hasattr(answer, "controller"), "the pool had a free slot"


async def test_an_idle_pool_gives_its_agent_to_a_pool_whose_requests_wait_and_it_joins_once_applied() -> None:
    placed = Placed()
    await placed.pool("default", keep_alive_s=0)
    await placed.pool("other", keep_alive_s=0)
    agent = placed.agent("a")
    placed.waiting_request("other")

    placed.placement.place(time.monotonic())
    moving = (agent.pool_name, agent.switching_to)
    placed.applied(agent)
    placed.placement.place(time.monotonic())

    assert moving == (None, "other")
    assert agent.pool_name == "other"
    assert agent.switching_to is None
    [decision] = placed.pools.view(placed.pools.pools["other"])["placements"]
    assert (decision["agent_id"], decision["from"], decision["to"], decision["reason"]) == (
        "a",
        "default",
        "other",
        "waiting_requests",
    )


async def test_a_pool_used_within_its_keep_alive_keeps_its_agent() -> None:
    placed = Placed()
    await placed.pool("default", keep_alive_s=300)
    await placed.pool("other", keep_alive_s=0)
    agent = placed.agent("a")
    placed.waiting_request("other")

    placed.placement.place(time.monotonic())

    assert agent.pool_name == "default"
    assert agent.switching_to is None


async def test_pinned_agents_and_agents_without_state_ids_are_never_moved() -> None:
    placed = Placed()
    await placed.pool("default", keep_alive_s=0)
    await placed.pool("other", keep_alive_s=0)
    await placed.pool("third", keep_alive_s=0)
    pinned = placed.agent("pinned", pinned="third")
    paddlers = placed.agent("paddlers", capable=False)
    placed.waiting_request("other")

    placed.placement.place(time.monotonic())

    assert (pinned.pool_name, paddlers.pool_name) == ("third", "default")


async def test_a_pool_under_its_min_agents_gets_one_before_waiting_requests_elsewhere() -> None:
    placed = Placed()
    await placed.pool("default", keep_alive_s=0)
    await placed.pool("waiting", keep_alive_s=0)
    await placed.pool("minimum", min_agents=1)
    agent = placed.agent("a")
    placed.waiting_request("waiting")

    placed.placement.place(time.monotonic())

    assert agent.switching_to == "minimum"


async def test_a_pool_without_agents_whose_request_waits_two_seconds_takes_one_from_a_busy_pool() -> None:
    placed = Placed()
    await placed.pool("default", keep_alive_s=300)
    await placed.pool("other", keep_alive_s=300)
    agent = placed.agent("a")
    busy = placed.pools.pools["default"]
    busy.in_flight = 1
    placed.waiting_request("other")
    now = time.monotonic()
    busy.last_request_at = now + 1.0

    placed.placement.place(now + 1.0)
    before_the_limit = agent.switching_to
    placed.placement.place(now + 2.5)

    assert before_the_limit is None
    assert agent.switching_to == "other"
    [decision] = placed.pools.view(placed.pools.pools["other"])["placements"]
    assert decision["reason"] == "starving"


async def _a_served_pool_waits_beside_an_idle_pool_with_one_agent(placed: Placed) -> AgentController:
    """`default` holds one idle agent; `busy` has its own (pinned) agent, full, and a request waiting."""
    await placed.pool("default", keep_alive_s=0)
    await placed.pool("busy", keep_alive_s=0)
    idle = placed.agent("idle")
    placed.agent("busy-agent", pinned="busy")
    _fill_and_queue(placed, "busy")
    return idle


def _fill_and_queue(placed: Placed, pool: str) -> None:
    """The pool's one free slot is taken and a request waits behind it."""
    slot = placed.pools.pools[pool].buffer.claim(lambda _: None)
    assert hasattr(slot, "controller"), f"{pool}'s agent had no free slot"
    placed.waiting_request(pool)


async def test_a_pools_last_agent_stays_through_a_lull_shorter_than_a_starving_wait_and_a_load() -> None:
    placed = Placed()
    idle = await _a_served_pool_waits_beside_an_idle_pool_with_one_agent(placed)
    now = time.monotonic()
    # Idle for 2.5 s: past its keep-alive of 0, short of a 2 s starving wait plus a 1 s load.
    placed.pools.pools["default"].last_request_at = now - 2.5

    placed.placement.place(now)

    assert idle.switching_to is None
    assert idle.pool_name == "default"


async def test_a_pools_last_agent_goes_to_a_served_pool_once_idle_for_a_starving_wait_and_a_load() -> None:
    placed = Placed()
    idle = await _a_served_pool_waits_beside_an_idle_pool_with_one_agent(placed)
    now = time.monotonic()
    placed.pools.pools["default"].last_request_at = now - 3.1

    placed.placement.place(now)

    assert idle.switching_to == "busy"


async def test_the_way_back_to_a_pool_counts_the_load_time_its_last_incoming_agent_took() -> None:
    placed = Placed()
    await placed.pool("default", keep_alive_s=0)
    await placed.pool("fast", keep_alive_s=0)
    await placed.pool("busy", keep_alive_s=0)
    mover = placed.agent("mover")
    placed.agent("busy-agent", pinned="busy")
    placed.waiting_request("fast")
    start = time.monotonic()
    placed.placement.place(start)
    placed.applied(mover)
    # The agent served `fast` 0.2 s after its move began: a load of 0.2 s.
    placed.placement.place(start + 0.2)
    assert mover.pool_name == "fast"
    _fill_and_queue(placed, "busy")
    now = time.monotonic()
    # 2.3 s idle: past a 2 s starving wait plus that 0.2 s load, short of the 1 s assumed unseen.
    placed.pools.pools["fast"].last_request_at = now - 2.3

    placed.placement.place(now)

    assert mover.switching_to == "busy"


async def test_the_leader_moves_an_agent_for_requests_buffered_on_another_balancer() -> None:
    placed = Placed()
    await placed.pool("default", keep_alive_s=0)
    await placed.pool("other", keep_alive_s=0)
    agent = placed.agent("a")
    waiting = ReportedDemand(buffered=1, in_flight=1, waited_s=0.1, idle_s=0.0, at=time.time())
    placed.demand.report("balancer-b", {"other": waiting})

    placed.placement.place(time.monotonic())

    assert agent.switching_to == "other"


async def test_a_pool_busy_on_another_balancer_keeps_its_agent() -> None:
    placed = Placed()
    await placed.pool("default", keep_alive_s=0)
    await placed.pool("other", keep_alive_s=0)
    agent = placed.agent("a")
    busy = ReportedDemand(buffered=0, in_flight=2, waited_s=None, idle_s=0.0, at=time.time())
    placed.demand.report("balancer-b", {"default": busy})
    placed.waiting_request("other")

    placed.placement.place(time.monotonic())

    assert agent.switching_to is None
    assert agent.pool_name == "default"


async def test_a_follower_places_no_agent_and_follows_the_pool_each_agent_reports() -> None:
    placed = Placed()
    await placed.pool("default", keep_alive_s=0)
    await placed.pool("other", keep_alive_s=0)
    agent = placed.agent("a")
    placed.leadership.set(False, "balancer-b")
    placed.waiting_request("other")

    placed.placement.place(time.monotonic())
    assert agent.switching_to is None
    params = {
        "version": 99,
        "status": {"slots_total": 1, "desired_slots_total": 1, "state_application_status": "Applied"},
        "pool": "other",
        "slots_held_elsewhere": 0,
    }
    agent.handle_frame(orjson.dumps({"jsonrpc": "2.0", "method": "update_agent_status", "params": params}))
    placed.placement.place(time.monotonic())

    assert agent.pool_name == "other"
