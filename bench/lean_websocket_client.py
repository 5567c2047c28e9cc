"""A WebSocket client for benchmarks: just enough RFC 6455 to load a server, at a small
fraction of the CPU of a general client library.

On a small machine the benchmark's clients share the cores with the server they measure;
a general client (the `websockets` package: per-frame objects, UTF-8 checks, an assembler,
a queue) spent nearly as much CPU per token as the balancer relaying it, so the figures
measured the clients. This one reads frames straight from the transport's buffer and hands
each text payload to a callback as bytes.

Client frames are masked with an all-zero key: RFC 6455 requires a mask on every client
frame (any server checks the bit) and the key's value only matters against caching proxies,
of which a loopback benchmark has none. No extensions, no fragmentation (the balancer sends
neither), pings answered with pongs.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Callable
from typing import cast

_OP_TEXT, _OP_CLOSE, _OP_PING, _OP_PONG = 0x1, 0x8, 0x9, 0xA
_ZERO_MASK = b"\x00\x00\x00\x00"


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A final, masked (all-zero key: the payload unchanged) client frame."""
    length = len(payload)
    if length < 126:
        header = bytes((0x80 | opcode, 0x80 | length))
    elif length < 1 << 16:
        header = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big")
    return header + _ZERO_MASK + payload


class LeanWebSocket(asyncio.Protocol):
    """One connection; `on_text(payload)` for each text message, in order."""

    def __init__(self, on_text: Callable[[bytes], None]) -> None:
        self._on_text = on_text
        self._buffer = bytearray()
        self._handshaken = False
        self._transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @classmethod
    async def connect(cls, address: str, path: str, on_text: Callable[[bytes], None]) -> LeanWebSocket:
        host, port = address.rsplit(":", 1)
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(lambda: cls(on_text), host, int(port))
        key = base64.b64encode(os.urandom(16)).decode()
        protocol._write(
            (
                f"GET {path} HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        await protocol.opened
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport, but behave as one.
        self._transport = cast(asyncio.Transport, transport)

    def send_text(self, payload: bytes) -> None:
        self._write(client_frame(_OP_TEXT, payload))

    def send_texts(self, payloads: list[bytes]) -> None:
        """Several messages in one write."""
        self._write(b"".join(client_frame(_OP_TEXT, payload) for payload in payloads))

    def close(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._write(client_frame(_OP_CLOSE, (1000).to_bytes(2, "big")))
            self._transport.close()

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        if not self._handshaken:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status_line = bytes(buffer[: buffer.find(b"\r\n")])
            if b" 101 " not in status_line:
                self.opened.set_exception(ConnectionError(f"handshake refused: {status_line.decode()}"))
                assert self._transport is not None
                self._transport.close()
                return
            del buffer[: end + 4]
            self._handshaken = True
            self.opened.set_result(None)
        position, size = 0, len(buffer)
        on_text = self._on_text
        while size - position >= 2:
            opcode = buffer[position] & 0x0F
            length = buffer[position + 1] & 0x7F
            start = position + 2
            if length == 126:
                if size - position < 4:
                    break
                length = int.from_bytes(buffer[position + 2 : position + 4], "big")
                start = position + 4
            elif length == 127:
                if size - position < 10:
                    break
                length = int.from_bytes(buffer[position + 2 : position + 10], "big")
                start = position + 10
            end = start + length
            if end > size:
                break
            if opcode == _OP_TEXT:
                on_text(bytes(buffer[start:end]))
            elif opcode == _OP_PING:
                self._write(client_frame(_OP_PONG, bytes(buffer[start:end])))
            elif opcode == _OP_CLOSE:
                self.close()
            position = end
        del buffer[:position]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed before the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)
