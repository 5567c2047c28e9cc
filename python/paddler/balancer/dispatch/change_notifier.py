"""A version counter that tasks can wait on: the basis of every SSE stream."""

from __future__ import annotations

import asyncio
import contextlib


class ChangeNotifier:
    def __init__(self) -> None:
        self.version = 0
        self._waiters: list[asyncio.Future[None]] = []

    def notify(self) -> None:
        # Called on every slot claim and release: with nobody watching (no SSE
        # stream open) it costs an increment and nothing more.
        self.version += 1
        if self._waiters:
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def wait_for_change(self, seen_version: int) -> int:
        # A waiter that arrives after a change compares versions: no change is ever missed.
        while self.version == seen_version:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                # The stream's client left: its waiter must not pile up until the next change.
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
                raise
        return self.version
