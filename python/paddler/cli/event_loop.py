"""Running a command on uvloop until SIGINT or SIGTERM asks it to stop."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Iterable

import uvloop


def run_until_signalled(
    main: Callable[[asyncio.Event], Awaitable[None]], signals: Iterable[signal.Signals]
) -> int:
    async def runner() -> None:
        shutdown = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in signals:
            loop.add_signal_handler(signum, shutdown.set)
        await main(shutdown)

    uvloop.run(runner())
    return 0
