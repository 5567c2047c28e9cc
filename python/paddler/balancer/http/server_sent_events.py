"""An SSE stream of snapshots: one `data:` line per change, keep-alive comments between."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from starlette.responses import StreamingResponse

from paddler.balancer.dispatch.change_notifier import ChangeNotifier

# Well under the read timeout of clients that wait for a quiet stream: the official
# client reads with httpx's default of 5 s, and a stream with no change for longer
# (a steady cluster) would fail there with a ReadTimeout.
KEEP_ALIVE_S = 2.0


def snapshot_stream(
    notifier: ChangeNotifier, snapshot: Callable[[], Any], stopping: asyncio.Event
) -> StreamingResponse:
    """Ends cleanly once `stopping` is set, as Paddler's streams end on shutdown: a client
    sees the end of the stream, not a connection cut when the server's grace period runs out."""

    async def events() -> AsyncIterator[bytes]:
        seen = notifier.version
        last: bytes | None = None
        stopped = asyncio.ensure_future(stopping.wait())
        try:
            while not stopping.is_set():
                current = orjson.dumps(snapshot())
                # Several changes can collapse into one snapshot; an identical one is not resent.
                if current != last:
                    yield b"data: " + current + b"\n\n"
                    last = current
                changed = asyncio.ensure_future(notifier.wait_for_change(seen))
                await asyncio.wait(
                    {changed, stopped}, timeout=KEEP_ALIVE_S, return_when=asyncio.FIRST_COMPLETED
                )
                if changed.done():
                    seen = changed.result()
                else:
                    changed.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await changed
                    if not stopping.is_set():
                        yield b": keep-alive\n\n"
        finally:
            stopped.cancel()

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
