"""uvicorn's sans-I/O WebSocket protocol with one extension: many text frames in one write,
a lean reader for the common frames, and one fix: a protocol error's close frame reaches
the client.

A busy inference socket carries many small frames per event-loop step (a
token each, for every request in flight on it). Through plain ASGI each
frame costs an ASGI message and a socket write; this extension turns a step's
frames into one write. Apps find it in `scope["extensions"]` and fall back
to one `websocket.send` per frame where the server is not ours.

Reading: websockets' general parser (a generator per frame, a stream reader, a
Frame object) was a third of the balancer's CPU per relayed token. Complete,
final, masked data frames within the size limit, pings and pongs are read here
straight from the received bytes; anything else (a close, a fragment, a protocol
error, invalid UTF-8, an oversized frame) is handed, from that frame on, to
websockets, which has seen nothing since the handshake and so starts at that
frame's first byte: its checks and close codes apply unchanged.

Writing: batched frames go to the transport without waiting for a client that
does not read (one slow client must not stall a step's writes), so the
transport's buffer is what grows then; `max_unsent_bytes` bounds it.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.frames import Frame, Opcode
from websockets.protocol import State

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover (websockets built without its C extension)
    from websockets.utils import apply_mask

logger = logging.getLogger(__name__)

_TEXT, _BINARY, _PING, _PONG = 0x1, 0x2, 0x9, 0xA
# A client that does not read what it is sent is closed with this code (policy violation).
SLOW_READER_CLOSE_CODE = 1008
UNSENT_LIMIT_FLAG = "--max-websocket-unsent-bytes"
# Messages the app has not read yet before reading from the socket pauses (backpressure).
_QUEUED_BEFORE_PAUSE = 64

# `{"type": "websocket.send", TEXT_FRAMES: [b"...", ...]}`: UTF-8 payloads, one text frame each.
# And, for an app that set `RECEIVE_BATCHES` in the extension's dict (receive_in_batches),
# `{"type": "websocket.receive", TEXT_FRAMES: ["...", ...]}`: the text messages of one read.
TEXT_FRAMES = "paddler.text_frames"
RECEIVE_BATCHES = "receive_batches"


class FrameBatchingWebSocketProtocol(WebSocketsSansIOProtocol):
    # None until the first bytes after the handshake decide; then whether the lean reader reads.
    _lean_reading: bool | None = None
    # The start of a frame not complete yet; a bytearray, so that a large frame arriving in
    # many reads is appended to, not copied whole at every read.
    _unread: bytearray | None = None
    # Bytes a client may leave unread in the transport before its socket is closed; 0: no bound.
    max_unsent_bytes = 0

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        # The app's task is created but has not run yet: it sees the extension.
        self.scope["extensions"][TEXT_FRAMES] = {}

    def data_received(self, data: bytes) -> None:
        if self._lean_reading is None and self.handshake_complete:
            # Only from a frame boundary websockets has not started on, and without
            # extensions (compression transforms frames): else websockets reads, as before.
            self._lean_reading = (
                self.conn.state is State.OPEN and not self.conn.extensions and not self.conn.reader.buffer
            )
        if not self._lean_reading:
            super().data_received(data)
            return
        if self._unread:
            self._unread += data
            rest = self._read_frames(self._unread)
        else:
            rest = self._read_frames(data)
        if rest is not None:
            # A frame for websockets: it reads from there on.
            self._lean_reading = False
            self._unread = None
            super().data_received(bytes(rest))

    def _read_frames(self, data: bytes | bytearray) -> bytes | bytearray | None:
        """Reads the complete frames in `data`, keeping a partial one for later; returns the
        bytes from the first frame websockets must read, if one came."""
        position, size = 0, len(data)
        # websockets 17 renamed the limit (max_size became max_message_size).
        conn = self.conn
        max_size: int | None = getattr(conn, "max_message_size", None) or getattr(conn, "max_size", None)
        # An app that asked for batches gets the text messages of one read as one ASGI message.
        texts: list[str] | None = [] if self.scope["extensions"][TEXT_FRAMES].get(RECEIVE_BATCHES) else None
        rest: bytes | bytearray | None = None
        while size - position >= 2:
            first, second = data[position], data[position + 1]
            opcode = first & 0x0F
            length = second & 0x7F
            start = position + 2
            if length == 126:
                start += 2
                if size < start:
                    break
                length = int.from_bytes(data[position + 2 : start], "big")
            elif length == 127:
                start += 8
                if size < start:
                    break
                length = int.from_bytes(data[position + 2 : start], "big")
            # FIN set, no RSV bits, masked (clients must mask), a data frame within the limit
            # or a small ping/pong: anything else is websockets' to read (and to refuse).
            data_frame = opcode in (_TEXT, _BINARY) and (max_size is None or length <= max_size)
            control_frame = opcode in (_PING, _PONG) and length <= 125
            if first & 0xF0 != 0x80 or not second & 0x80 or not (data_frame or control_frame):
                rest = data[position:]
                break
            end = start + 4 + length
            if size < end:
                break
            # bytes() of a bytes slice is the slice itself: a copy only for a buffered frame.
            payload = apply_mask(bytes(data[start + 4 : end]), bytes(data[start : start + 4]))
            if opcode == _TEXT:
                try:
                    text = payload.decode()
                except UnicodeDecodeError:
                    rest = data[position:]
                    break
                if self.close_sent:
                    pass  # past the app's close: dropped, as uvicorn does
                elif texts is not None:
                    texts.append(text)
                else:
                    self.queue.put_nowait({"type": "websocket.receive", "text": text})
            elif opcode == _BINARY:
                if not self.close_sent:
                    if texts:
                        self.queue.put_nowait(cast(Any, {"type": "websocket.receive", TEXT_FRAMES: texts}))
                        texts = []
                    self.queue.put_nowait({"type": "websocket.receive", "bytes": payload})
            elif opcode == _PING:
                self.conn.send_pong(payload)
                self.handle_ping()
            else:
                self.handle_pong(Frame(Opcode.PONG, payload))
            position = end
        if texts:
            self.queue.put_nowait(cast(Any, {"type": "websocket.receive", TEXT_FRAMES: texts}))
        if rest is not None:
            return rest
        if data is self._unread:
            del data[:position]
        elif position < size:
            self._unread = bytearray(data[position:])
        if not self.read_paused and self.queue.qsize() >= _QUEUED_BEFORE_PAUSE:
            # uvicorn's receive() resumes reading once the app has read everything queued.
            self.read_paused = True
            self.transport.pause_reading()
        return None

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
        else:
            # Without extensions a server's text frame is a header and the payload as is (RFC 6455
            # 5.2: no mask from a server): built here, at a fraction of websockets' general path.
            # Whatever websockets still has queued (a pong, say) goes first, in order.
            chunks = self.conn.data_to_send()
            for frame in frames:
                chunks.append(_text_frame_header(len(frame)))
                chunks.append(frame)
            self.transport.write(b"".join(chunks))
        if self.max_unsent_bytes and self.transport.get_write_buffer_size() > self.max_unsent_bytes:
            self._close_slow_reader()

    def _close_slow_reader(self) -> None:
        """Closes the socket of a client that leaves more than `max_unsent_bytes` unread.

        The close frame goes after everything unsent: a client that reads again
        soon gets it all, then the code and the reason; one that does not is
        dropped after the close timeout. The app sees the disconnect at once
        (and stops the socket's requests); what the client sent that the app had
        not read yet is dropped with it.
        """
        unsent = self.transport.get_write_buffer_size()
        limit = self.max_unsent_bytes
        reason = f"the client does not read: {unsent} bytes unsent, above {limit} ({UNSENT_LIMIT_FLAG})"
        logger.warning("WebSocket of %s closed: %s", self.client, reason)
        self.conn.send_close(SLOW_READER_CLOSE_CODE, reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(
            {"type": "websocket.disconnect", "code": SLOW_READER_CLOSE_CODE, "reason": reason}
        )
        if self.read_paused:
            # Reading goes on, so that the client's close answer is seen.
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.abort)

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


def websocket_protocol(max_unsent_bytes: int = 0) -> type[FrameBatchingWebSocketProtocol]:
    """Our protocol class, bounding what a client may leave unread at `max_unsent_bytes` (0: no bound)."""
    if not max_unsent_bytes:
        return FrameBatchingWebSocketProtocol
    return type(
        "BoundedFrameBatchingWebSocketProtocol",
        (FrameBatchingWebSocketProtocol,),
        {"max_unsent_bytes": max_unsent_bytes},
    )


def _text_frame_header(length: int) -> bytes:
    """FIN + text opcode, then the payload length in 7, 7+16 or 7+64 bits (unmasked)."""
    if length < 126:
        return bytes((0x81, length))
    if length < 1 << 16:
        return bytes((0x81, 126)) + length.to_bytes(2, "big")
    return bytes((0x81, 127)) + length.to_bytes(8, "big")


def receive_in_batches(scope: Any) -> None:
    """Asks our server, where it is ours, to deliver the text messages of one read together."""
    extension = (scope.get("extensions") or {}).get(TEXT_FRAMES)
    if extension is not None:
        extension[RECEIVE_BATCHES] = True


def received_messages(message: Any) -> list[str | bytes]:
    """The messages of one `websocket.receive` event: a batch, or the one text or bytes message."""
    batch: list[str | bytes] | None = message.get(TEXT_FRAMES)
    if batch is not None:
        return batch
    return [message.get("text") or message.get("bytes") or b""]


def text_frames_supported(scope: Any) -> bool:
    return TEXT_FRAMES in (scope.get("extensions") or {})
