"""Messages waiting for the balancer's socket; several that piled up leave as
one JSON-RPC batch frame (a burst of tokens costs one frame, not one each)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import orjson


class JsonRpcOutbox:
    def __init__(self) -> None:
        self._messages: deque[dict[str, Any]] = deque()
        self._ready = asyncio.Event()
        # Messages queued and written so far, for `flushed`.
        self._queued = 0
        self._written = 0
        self._wrote = asyncio.Event()

    def send(self, message: dict[str, Any]) -> None:
        """Queues a message; never blocks, so token callbacks and `finally` blocks may call it."""
        self._messages.append(message)
        self._queued += 1
        self._ready.set()

    async def flushed(self) -> None:
        """Waits until every message queued before this call is written to the socket: a
        producer of large messages (embeddings) holds no more than it waits for."""
        target = self._queued
        while self._written < target:
            self._wrote.clear()
            await self._wrote.wait()

    async def write_loop(self, send_text: Callable[[str], Awaitable[None]]) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            if not self._messages:
                continue
            count = len(self._messages)
            if count == 1:
                frame = orjson.dumps(self._messages.popleft())
            else:
                frame = orjson.dumps(list(self._messages))
                self._messages.clear()
            await send_text(frame.decode())
            self._written += count
            self._wrote.set()
