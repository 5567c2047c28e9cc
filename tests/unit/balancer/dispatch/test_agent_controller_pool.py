import orjson

from paddler.balancer.dispatch.agent_controller import AgentController
from paddler.balancer.dispatch.agent_controller_pool import AgentControllerPool
from paddler.balancer.dispatch.mailbox import AgentGone
from paddler.protocol.agent_socket import BalancerMethod
from paddler.protocol.model_pool import DEFAULT_POOL


def agent_with_slots(pool: AgentControllerPool, agent_id: str, slots: int) -> AgentController:
    controller = AgentController(agent_id, None, slots)
    pool.register(controller)
    status = {"version": 1, "status": {"slots_total": slots, "desired_slots_total": slots}}
    message = {"jsonrpc": "2.0", "method": "update_agent_status", "params": status}
    controller.handle_frame(orjson.dumps(message))
    return controller


def test_the_agent_with_the_highest_free_slot_ratio_is_chosen() -> None:
    pool = AgentControllerPool()
    small = agent_with_slots(pool, "small", 2)
    large = agent_with_slots(pool, "large", 4)
    claims = [pool.try_claim(DEFAULT_POOL) for _ in range(3)]

    chosen = [claim.controller.id for claim in claims if claim is not None]

    # Both start at ratio 1.0 (the first registered wins the tie), then
    # large at 4/4 beats small at 1/2, then large at 3/4 beats small at 1/2.
    assert sorted(chosen) == ["large", "large", "small"]
    assert small.slots_claimed + large.slots_claimed == 3


def test_an_agent_without_a_model_gets_nothing() -> None:
    pool = AgentControllerPool()
    pool.register(AgentController("empty", None, 4))

    assert pool.try_claim(DEFAULT_POOL) is None


def test_a_claim_is_released_once_even_when_released_twice() -> None:
    pool = AgentControllerPool()
    agent = agent_with_slots(pool, "a", 1)
    claim = pool.try_claim(DEFAULT_POOL)
    assert claim is not None

    claim.release()
    claim.release()

    assert agent.slots_claimed == 0


def test_an_older_status_snapshot_is_ignored() -> None:
    pool = AgentControllerPool()
    agent = agent_with_slots(pool, "a", 4)
    older = {"version": 0, "status": {"slots_total": 1, "desired_slots_total": 4}}

    agent.handle_frame(orjson.dumps({"jsonrpc": "2.0", "method": "update_agent_status", "params": older}))

    assert agent.slots_total == 4


def test_closing_an_agent_ends_its_requests_and_removes_its_slots() -> None:
    pool = AgentControllerPool()
    agent = agent_with_slots(pool, "a", 2)
    mailbox = agent.start_request("r1", BalancerMethod.CONTINUE_FROM_RAW_PROMPT, {})

    agent.close()

    assert list(mailbox._items) == [AgentGone()]
    assert agent.slots_total == 0
    assert pool.try_claim(DEFAULT_POOL) is None


def test_a_batch_frame_delivers_tokens_and_the_result_in_order() -> None:
    pool = AgentControllerPool()
    agent = agent_with_slots(pool, "a", 1)
    mailbox = agent.start_request("r1", BalancerMethod.CONTINUE_FROM_RAW_PROMPT, {})
    token = {"request_id": "r1", "token": {"ContentToken": "Hi"}}

    agent.handle_frame(
        orjson.dumps(
            [
                {"jsonrpc": "2.0", "method": "generated_token", "params": token},
                {"jsonrpc": "2.0", "id": "r1", "result": {"Done": {"usage": {}}}},
                "not a message",
            ]
        )
    )

    items = list(mailbox._items)
    assert [type(item).__name__ for item in items] == ["AgentStreamed", "AgentFinished"]
    assert items[1].response == {"GeneratedToken": {"Done": {"usage": {}}}}  # type: ignore[union-attr]


def test_the_choice_stays_least_busy_and_the_index_stays_small_over_many_claims() -> None:
    pool = AgentControllerPool()
    agents = [agent_with_slots(pool, f"agent-{n}", 4) for n in range(10)]

    for _ in range(10_000):
        claims = [pool.try_claim(DEFAULT_POOL) for _ in range(20)]
        # 20 claims over 10 agents of 4 slots: least busy first means 2 each.
        assert sorted(agent.slots_claimed for agent in agents) == [2] * 10
        for claim in claims:
            assert claim is not None
            claim.release()

    assert len(pool._heaps[DEFAULT_POOL]) <= 4 * len(agents) + 64
