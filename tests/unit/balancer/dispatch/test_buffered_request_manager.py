import asyncio

import orjson

from paddler.balancer.dispatch.agent_controller import AgentController
from paddler.balancer.dispatch.agent_controller_pool import AgentControllerPool
from paddler.balancer.dispatch.agent_controller_slot_guard import AgentControllerSlotGuard
from paddler.balancer.dispatch.buffered_request_manager import (
    BufferedRequestManager,
    BufferedRequestOutcome,
    BufferedWait,
    SlotAnswer,
)


async def wait_for_slot(manager: BufferedRequestManager) -> SlotAnswer:
    """The manager's callback answer, awaited; cancelling the await leaves the buffer."""
    answered: asyncio.Future[SlotAnswer] = asyncio.get_running_loop().create_future()
    claimed = manager.claim(answered.set_result)
    if not isinstance(claimed, BufferedWait):
        return claimed
    try:
        return await answered
    except asyncio.CancelledError:
        claimed.cancel()
        raise


def agent_with_slots(pool: AgentControllerPool, agent_id: str, slots: int) -> AgentController:
    controller = AgentController(agent_id, None, slots)
    pool.register(controller)
    status = {"version": 1, "status": {"slots_total": slots, "desired_slots_total": slots}}
    message = {"jsonrpc": "2.0", "method": "update_agent_status", "params": status}
    controller.handle_frame(orjson.dumps(message))
    return controller


async def test_a_free_slot_is_claimed_at_once() -> None:
    pool = AgentControllerPool()
    manager = BufferedRequestManager(pool, max_buffered_requests=1, timeout_s=1)
    agent_with_slots(pool, "a", 1)

    claim = await wait_for_slot(manager)

    assert isinstance(claim, AgentControllerSlotGuard)
    assert claim.controller.slots_claimed == 1


async def test_waiters_get_released_slots_first_in_first_out() -> None:
    pool = AgentControllerPool()
    manager = BufferedRequestManager(pool, max_buffered_requests=2, timeout_s=5)
    agent_with_slots(pool, "a", 1)
    first_claim = await wait_for_slot(manager)
    assert isinstance(first_claim, AgentControllerSlotGuard)
    order: list[str] = []

    async def wait(name: str) -> None:
        claim = await wait_for_slot(manager)
        assert isinstance(claim, AgentControllerSlotGuard)
        order.append(name)
        claim.release()

    waiting = [asyncio.create_task(wait("second")), asyncio.create_task(wait("third"))]
    await asyncio.sleep(0)
    assert manager.buffered_requests_current == 2
    first_claim.release()
    await asyncio.gather(*waiting)

    assert order == ["second", "third"]
    assert manager.buffered_requests_current == 0


async def test_overflow_and_timeout_are_outcomes_not_exceptions() -> None:
    pool = AgentControllerPool()
    manager = BufferedRequestManager(pool, max_buffered_requests=1, timeout_s=0.05)
    buffered = asyncio.create_task(wait_for_slot(manager))
    await asyncio.sleep(0)

    assert await wait_for_slot(manager) is BufferedRequestOutcome.TOO_MANY_BUFFERED_REQUESTS
    assert await buffered is BufferedRequestOutcome.TIMEOUT
    assert manager.buffered_requests_current == 0


async def test_zero_disables_buffering() -> None:
    manager = BufferedRequestManager(AgentControllerPool(), max_buffered_requests=0, timeout_s=1)

    assert await wait_for_slot(manager) is BufferedRequestOutcome.TOO_MANY_BUFFERED_REQUESTS


async def test_a_cancelled_waiter_leaves_the_queue_and_its_slot_goes_to_the_next() -> None:
    pool = AgentControllerPool()
    manager = BufferedRequestManager(pool, max_buffered_requests=2, timeout_s=5)
    cancelled = asyncio.create_task(wait_for_slot(manager))
    patient = asyncio.create_task(wait_for_slot(manager))
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.sleep(0)
    agent = agent_with_slots(pool, "a", 1)

    claim = await patient

    assert isinstance(claim, AgentControllerSlotGuard)
    assert agent.slots_claimed == 1


async def test_shutting_down_answers_every_waiter() -> None:
    manager = BufferedRequestManager(AgentControllerPool(), max_buffered_requests=3, timeout_s=5)
    waiting = [asyncio.create_task(wait_for_slot(manager)) for _ in range(3)]
    await asyncio.sleep(0)

    manager.shut_down()

    assert await asyncio.gather(*waiting) == [BufferedRequestOutcome.SHUTTING_DOWN] * 3
    assert await wait_for_slot(manager) is BufferedRequestOutcome.SHUTTING_DOWN
