"""The balancer reads WebSocket frames itself where it can and leaves the rest to websockets:
every shape RFC 6455 lets a client send must still read the same, and bad frames still get
their close codes. Raw frames over TCP, each masked with a random key."""

import asyncio
import base64
import os

import orjson

from tests.integration.conftest import Cluster

TEXT, CONTINUATION, BINARY, CLOSE, PING, PONG = 0x1, 0x0, 0x2, 0x8, 0x9, 0xA


def client_frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True) -> bytes:
    length = len(payload)
    mask_bit = 0x80 if masked else 0
    if length < 126:
        header = bytes(((0x80 if fin else 0) | opcode, mask_bit | length))
    elif length < 1 << 16:
        header = bytes(((0x80 if fin else 0) | opcode, mask_bit | 126)) + length.to_bytes(2, "big")
    else:
        header = bytes(((0x80 if fin else 0) | opcode, mask_bit | 127)) + length.to_bytes(8, "big")
    if not masked:
        return header + payload
    key = os.urandom(4)
    return header + key + bytes(byte ^ key[index % 4] for index, byte in enumerate(payload))


def bad_request(request_id: str, padding: int = 0) -> bytes:
    """A request the balancer answers at once, with no agent: an error naming its id."""
    return orjson.dumps({"Request": {"id": request_id, "request": {"Unknown": {"pad": "x" * padding}}}})


class RawSocket:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, address: str) -> "RawSocket":
        host, port = address.rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET /api/v1/inference_socket HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        status = await reader.readuntil(b"\r\n\r\n")
        assert b" 101 " in status.split(b"\r\n", 1)[0]
        return cls(reader, writer)

    async def send(self, *chunks: bytes) -> None:
        for chunk in chunks:
            self.writer.write(chunk)
            await self.writer.drain()
            await asyncio.sleep(0.001)

    async def frame(self) -> tuple[int, bytes]:
        first, second = await asyncio.wait_for(self.reader.readexactly(2), timeout=10)
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(await self.reader.readexactly(2), "big")
        elif length == 127:
            length = int.from_bytes(await self.reader.readexactly(8), "big")
        return first & 0x0F, await self.reader.readexactly(length)

    async def answered_id(self) -> str:
        opcode, payload = await self.frame()
        assert opcode == TEXT, (opcode, payload)
        request_id: str = orjson.loads(payload)["Error"]["request_id"]
        return request_id

    async def close_code(self) -> int:
        while True:
            opcode, payload = await self.frame()
            if opcode == CLOSE:
                return int.from_bytes(payload[:2], "big")

    def close(self) -> None:
        self.writer.close()


async def test_the_inference_socket_reads_every_frame_shape_a_client_may_send(cluster: Cluster) -> None:
    await cluster.start_balancer()
    socket = await RawSocket.open(cluster.inference_addr)

    await socket.send(client_frame(TEXT, bad_request("plain")))
    plain = await socket.answered_id()
    split = client_frame(TEXT, bad_request("split"))
    await socket.send(split[:1], split[1:7], split[7:])
    in_pieces = await socket.answered_id()
    await socket.send(
        client_frame(TEXT, bad_request("medium", 300)) + client_frame(TEXT, bad_request("large", 70_000))
    )
    sixteen_bit, sixty_four_bit = await socket.answered_id(), await socket.answered_id()
    # Text and binary messages in one read keep their order.
    await socket.send(
        client_frame(TEXT, bad_request("text-1"))
        + client_frame(BINARY, bad_request("binary"))
        + client_frame(TEXT, bad_request("text-2"))
    )
    mixed = [await socket.answered_id() for _ in range(3)]
    trickled = client_frame(TEXT, bad_request("trickled", 300_000))
    await socket.send(*(trickled[offset : offset + 4096] for offset in range(0, len(trickled), 4096)))
    in_many_reads = await socket.answered_id()
    await socket.send(client_frame(PING, b"are you there"))
    pong = await socket.frame()
    # A fragmented message: websockets reads from its first fragment on.
    message = bad_request("fragmented")
    await socket.send(client_frame(TEXT, message[:10], fin=False) + client_frame(CONTINUATION, message[10:]))
    fragmented = await socket.answered_id()
    await socket.send(client_frame(TEXT, bad_request("after")))
    after = await socket.answered_id()
    socket.close()

    invalid_utf8 = await RawSocket.open(cluster.inference_addr)
    await invalid_utf8.send(client_frame(TEXT, b'{"Request": "\xff\xfe"}'))
    unmasked = await RawSocket.open(cluster.inference_addr)
    await unmasked.send(client_frame(TEXT, bad_request("unmasked"), masked=False))
    closing = await RawSocket.open(cluster.inference_addr)
    await closing.send(client_frame(CLOSE, (1000).to_bytes(2, "big")))

    assert [plain, in_pieces, sixteen_bit, sixty_four_bit] == ["plain", "split", "medium", "large"]
    assert mixed == ["text-1", "binary", "text-2"]
    assert in_many_reads == "trickled"
    assert pong == (PONG, b"are you there")
    assert [fragmented, after] == ["fragmented", "after"]
    assert await invalid_utf8.close_code() == 1007
    assert await unmasked.close_code() == 1002
    assert await closing.close_code() == 1000
    for raw in (invalid_utf8, unmasked, closing):
        raw.close()
