"""An agent shared by several balancers: each balancer counts the slots the others hold (the
agent says how many), offers none before it knows, and takes a refusal as "full for now"."""

import asyncio
from typing import Any

import orjson

from paddler.balancer.dispatch.agent_controller import AgentController
from paddler.balancer.dispatch.agent_controller_pool import AgentControllerPool
from paddler.balancer.dispatch.dispatch_outcome import SLOT_REFUSED, dispatch_outcome
from paddler.balancer.dispatch.mailbox import AgentFailed
from paddler.protocol.agent_socket import SLOT_ARBITRATION, STATE_IDS, RpcErrorCode
from paddler.protocol.model_pool import DEFAULT_POOL


def shared_agent(pool: AgentControllerPool, slots: int) -> AgentController:
    controller = AgentController("shared", None, slots, capabilities=frozenset({STATE_IDS, SLOT_ARBITRATION}))
    pool.register(controller)
    return controller


def report(controller: AgentController, version: int, slots: int, **extra: Any) -> None:
    params = {"version": version, "status": {"slots_total": slots, "desired_slots_total": slots}, **extra}
    controller.handle_frame(
        orjson.dumps({"jsonrpc": "2.0", "method": "update_agent_status", "params": params})
    )


def test_no_slot_is_offered_before_the_agent_says_what_other_balancers_hold() -> None:
    pool = AgentControllerPool()
    controller = shared_agent(pool, 2)
    report(controller, 1, 2)

    assert pool.try_claim(DEFAULT_POOL) is None


def test_slots_other_balancers_hold_are_not_offered() -> None:
    pool = AgentControllerPool()
    controller = shared_agent(pool, 2)
    report(controller, 1, 2, slots_held_elsewhere=1)

    first = pool.try_claim(DEFAULT_POOL)

    assert first is not None
    assert pool.try_claim(DEFAULT_POOL) is None
    assert controller.free_slots == 0


def test_a_refusal_marks_the_agent_full_without_counting_against_its_breaker_until_its_next_status() -> None:
    pool = AgentControllerPool()
    controller = shared_agent(pool, 2)
    report(controller, 1, 2, slots_held_elsewhere=0)

    outcome = dispatch_outcome(controller, AgentFailed(RpcErrorCode.SLOTS_FULL, "busy"), relayed_any=False)

    assert outcome is SLOT_REFUSED
    assert pool.try_claim(DEFAULT_POOL) is None
    assert controller.circuit_breaker.is_open is False
    report(controller, 2, 2, slots_held_elsewhere=1)
    assert controller.free_slots == 1


async def test_a_balancer_over_its_share_leaves_a_freed_slot_to_the_others_for_a_moment() -> None:
    pool = AgentControllerPool()
    controller = shared_agent(pool, 2)
    # Two balancers share the agent's 2 slots: a share is 1. This balancer holds both.
    report(controller, 1, 2, slots_held_elsewhere=0, balancers=2)
    first, second = pool.try_claim(DEFAULT_POOL), pool.try_claim(DEFAULT_POOL)
    assert first is not None
    assert second is not None

    first.release()  # it still holds 1, its share: the freed slot is the other balancer's first

    assert pool.try_claim(DEFAULT_POOL) is None
    await asyncio.sleep(0.1)
    assert pool.try_claim(DEFAULT_POOL) is not None


async def test_a_balancer_under_its_share_refills_a_freed_slot_at_once() -> None:
    pool = AgentControllerPool()
    controller = shared_agent(pool, 2)
    report(controller, 1, 2, slots_held_elsewhere=1, balancers=2)
    claim = pool.try_claim(DEFAULT_POOL)
    assert claim is not None

    claim.release()

    assert pool.try_claim(DEFAULT_POOL) is not None
