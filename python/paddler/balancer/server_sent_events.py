"""An SSE stream of snapshots: one `data:` line per change, keep-alive comments between."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from starlette.responses import StreamingResponse

from paddler.balancer.change_notifier import ChangeNotifier

KEEP_ALIVE_S = 15.0


def snapshot_stream(notifier: ChangeNotifier, snapshot: Callable[[], Any]) -> StreamingResponse:
    async def events() -> AsyncIterator[bytes]:
        seen = notifier.version
        last: bytes | None = None
        while True:
            current = orjson.dumps(snapshot())
            # Several changes can collapse into one snapshot; an identical one is not resent.
            if current != last:
                yield b"data: " + current + b"\n\n"
                last = current
            try:
                async with asyncio.timeout(KEEP_ALIVE_S):
                    seen = await notifier.wait_for_change(seen)
            except TimeoutError:
                yield b": keep-alive\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
