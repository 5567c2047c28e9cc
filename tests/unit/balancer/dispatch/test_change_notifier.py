import asyncio

import pytest

from paddler.balancer.dispatch.change_notifier import ChangeNotifier


async def test_a_change_wakes_a_waiter_with_the_new_version() -> None:
    notifier = ChangeNotifier()
    waiting = asyncio.create_task(notifier.wait_for_change(0))
    await asyncio.sleep(0)

    notifier.notify()

    assert await asyncio.wait_for(waiting, 1) == 1


async def test_a_waiter_that_comes_after_a_change_returns_at_once() -> None:
    notifier = ChangeNotifier()
    notifier.notify()

    assert await asyncio.wait_for(notifier.wait_for_change(0), 1) == 1


async def test_a_cancelled_waiter_leaves_nothing_behind() -> None:
    notifier = ChangeNotifier()
    waiting = asyncio.create_task(notifier.wait_for_change(0))
    await asyncio.sleep(0)

    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting

    assert notifier._waiters == []
