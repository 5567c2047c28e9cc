"""uvicorn's sans-I/O WebSocket protocol with one extension: many text frames in one write,
and one fix: a protocol error's close frame reaches the client.

A busy inference socket carries many small frames per event-loop step (a
token each, for every request in flight on it). Through plain ASGI each
frame costs an ASGI message and a socket write; this extension turns a step's
frames into one write. Apps find it in `scope["extensions"]` and fall back
to one `websocket.send` per frame where the server is not ours.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.protocol import State

# `{"type": "websocket.send", TEXT_FRAMES: [b"...", ...]}`: UTF-8 payloads, one text frame each.
TEXT_FRAMES = "paddler.text_frames"


class FrameBatchingWebSocketProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        # The app's task is created but has not run yet: it sees the extension.
        self.scope["extensions"][TEXT_FRAMES] = {}

    async def send(self, message: Any) -> None:
        frames = message.get(TEXT_FRAMES)
        connected = self.handshake_complete and not self.close_sent and self.initial_response is None
        if frames is None or message["type"] != "websocket.send" or not connected:
            await super().send(message)
            return
        if self.conn.state is not State.OPEN:
            raise ClientDisconnected()
        if self.conn.extensions:
            # A negotiated extension (compression) transforms each frame: websockets does it.
            try:
                for frame in frames:
                    self.conn.send_text(frame)
            except InvalidState:
                raise ClientDisconnected() from None
            self.transport.write(b"".join(self.conn.data_to_send()))
            return
        # Without extensions a server's text frame is a header and the payload as is (RFC 6455
        # 5.2: no mask from a server): built here, at a fraction of websockets' general path.
        # Whatever websockets still has queued (a pong, say) goes first, in order.
        chunks = self.conn.data_to_send()
        for frame in frames:
            chunks.append(_text_frame_header(len(frame)))
            chunks.append(frame)
        self.transport.write(b"".join(chunks))

    def handle_parser_exception(self) -> None:
        # uvicorn closes the TCP connection as soon as it has written its close
        # frame (1009 for a frame above the limit, 1002 for a protocol error).
        # The client is often still sending the offending frame: the kernel then
        # answers with a reset, and the client may lose the close frame unread
        # and see a dropped connection instead of the reason. Instead, what the
        # client still sends is read and discarded (the parser does that after
        # an error) until it closes its side, or for at most the close timeout.
        if self.close_sent:
            return
        assert self.conn.close_sent is not None
        close = self.conn.close_sent
        self.queue.put_nowait({"type": "websocket.disconnect", "code": close.code, "reason": close.reason})
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        # Our side is done (the client sees the close frame, then EOF, and closes
        # its side); reading goes on, so nothing the client still sends is refused.
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.close)


def _text_frame_header(length: int) -> bytes:
    """FIN + text opcode, then the payload length in 7, 7+16 or 7+64 bits (unmasked)."""
    if length < 126:
        return bytes((0x81, length))
    if length < 1 << 16:
        return bytes((0x81, 126)) + length.to_bytes(2, "big")
    return bytes((0x81, 127)) + length.to_bytes(8, "big")


def text_frames_supported(scope: Any) -> bool:
    return TEXT_FRAMES in (scope.get("extensions") or {})
