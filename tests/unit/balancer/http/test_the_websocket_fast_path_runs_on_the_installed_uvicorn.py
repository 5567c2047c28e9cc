"""Our WebSocket protocol subclasses uvicorn's internals: on the uvicorn installed
(pyproject pins the tested range), both fast paths must run, in a real server."""

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import websockets

from paddler.balancer.http.http_server import HttpServer
from paddler.balancer.http.websocket_protocol import (
    TEXT_FRAMES,
    receive_in_batches,
    received_messages,
    text_frames_supported,
)

MESSAGES = 40


def free_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def masked_text_frame(payload: bytes) -> bytes:
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    return bytes((0x81, 0x80 | len(payload))) + mask + masked


class BatchRecordingApp:
    """Counts the messages of each receive event, then answers them all in one batched send."""

    def __init__(self) -> None:
        self.batch_sizes: list[int] = []
        self.batched_sends_supported = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "websocket"
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        receive_in_batches(scope)
        self.batched_sends_supported = text_frames_supported(scope)
        received = 0
        while received < MESSAGES:
            message = await receive()
            batch = received_messages(message)
            self.batch_sizes.append(len(batch))
            received += len(batch)
        replies = [orjson.dumps({"n": n}) for n in range(MESSAGES)]
        await send({"type": "websocket.send", TEXT_FRAMES: replies})
        await receive()  # the client's close


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, BatchRecordingApp]]:
    app = BatchRecordingApp()
    address = free_address()
    http = HttpServer(app, address, "fast path test")
    stop = asyncio.Event()
    serving = asyncio.create_task(http.run(stop))
    for _ in range(200):
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection(*address.split(":"))
            writer.close()
            break
        await asyncio.sleep(0.01)
    yield address, app
    stop.set()
    await asyncio.wait_for(serving, timeout=10)


async def test_frames_of_one_read_arrive_as_one_event_and_a_batch_goes_out_as_text_frames(
    server: tuple[str, BatchRecordingApp],
) -> None:
    address, app = server
    async with websockets.connect(f"ws://{address}/") as client:
        # Every frame in one TCP write: one read on the server.
        frames = b"".join(masked_text_frame(orjson.dumps({"n": n})) for n in range(MESSAGES))
        transport: Any = client.transport
        transport.write(frames)
        replies = [orjson.loads(await client.recv()) for _ in range(MESSAGES)]

    assert app.batched_sends_supported
    # The lean reader handed the app whole batches, not one message an event.
    assert sum(app.batch_sizes) == MESSAGES
    assert max(app.batch_sizes) > 1
    assert replies == [{"n": n} for n in range(MESSAGES)]
