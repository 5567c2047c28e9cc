"""A version counter that tasks can wait on: the basis of every SSE stream."""

from __future__ import annotations

import asyncio


class ChangeNotifier:
    def __init__(self) -> None:
        self.version = 0
        self._changed = asyncio.Event()

    def notify(self) -> None:
        self.version += 1
        # Waking every waiter and starting a fresh event: a waiter that
        # arrives later compares versions, so no change is ever missed.
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for_change(self, seen_version: int) -> int:
        while self.version == seen_version:
            await self._changed.wait()
        return self.version
