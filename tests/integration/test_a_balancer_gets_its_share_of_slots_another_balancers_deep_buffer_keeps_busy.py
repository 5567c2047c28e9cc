"""Balancer B's clients keep every slot of the one agent busy, with more requests waiting in B's
buffer. A request through balancer A is still served while B stays busy: a slot freed by B while
B holds more than its share is told to A at once, and A's request takes it (or is refused and
tries again), instead of waiting until B's buffer runs dry."""

import asyncio

from tests.integration.conftest import chat_prompt
from tests.integration.ha_cluster import HaCluster, needs_etcd

pytestmark = needs_etcd


async def test_a_balancer_gets_its_share_of_slots_another_balancers_deep_buffer_keeps_busy(
    ha: HaCluster,
) -> None:
    await ha.serve_smollm2(agents=1, slots=2)
    stop = asyncio.Event()
    served_on_b = 0

    async def keep_b_busy(index: int) -> None:
        nonlocal served_on_b
        while not stop.is_set():
            await ha.b.raw_prompt_lines(chat_prompt(f"Tell a story, {index}."), max_tokens=24)
            served_on_b += 1

    # Six loops on two slots: B always has requests waiting.
    loops = [asyncio.create_task(keep_b_busy(index)) for index in range(6)]
    await asyncio.sleep(3.0)
    # B's loops never stop before A's request ends: starved, it would end at A's buffer
    # timeout (60 s here) with 504, and raw_prompt_lines would fail.
    lines = await ha.a.raw_prompt_lines(chat_prompt("Say hello."), max_tokens=4)
    b_still_busy = not any(loop.done() for loop in loops)
    stop.set()
    await asyncio.gather(*loops)

    assert "Done" in lines[-1]["Response"]["response"]["GeneratedToken"]
    assert b_still_busy
    assert served_on_b > 0
