"""`/api/v1/inference_socket`: many requests over one WebSocket, by request id."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Collection
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from paddler.balancer.dispatch.relay_event import Relayed, RelayFailed, RelayFailure, RelayFinished
from paddler.balancer.dispatch.relay_handle import RelayHandle
from paddler.balancer.dispatch.request_limits import LimitExceeded, RequestLimits, limit_generation
from paddler.balancer.dispatch.request_relay import RequestRelay
from paddler.balancer.dispatch.trace_context import continue_trace
from paddler.balancer.http.websocket_origin import origin_allowed, refuse_origin
from paddler.balancer.http.websocket_protocol import (
    TEXT_FRAMES,
    receive_in_batches,
    received_messages,
    text_frames_supported,
)
from paddler.protocol.agent_socket import BalancerMethod
from paddler.protocol.body_validation import InvalidBody
from paddler.protocol.inference_request import ContinueFromConversationHistoryParams
from paddler.protocol.inference_response import (
    BalancerErrorCode,
    envelope_prefix,
    error_envelope,
    response_envelope,
)
from paddler.protocol.inference_socket_message import SocketStop, decode_inference_socket_message

logger = logging.getLogger(__name__)

# On the socket these two are answered as string responses, as in Paddler.
_STRING_RESPONSES = {
    RelayFailure.BUFFER_TIMEOUT: "Timeout",
    RelayFailure.ITEM_TIMEOUT: "Timeout",
    RelayFailure.TOO_MANY_BUFFERED_REQUESTS: "TooManyBufferedRequests",
}


class InferenceSocketEndpoint:
    def __init__(
        self, relay: RequestRelay, limits: RequestLimits | None = None, allowed_origins: Collection[str] = ()
    ) -> None:
        self._relay = relay
        self._limits = limits or RequestLimits()
        # The service's CORS list (the panel's origins included): CORS does not cover WebSockets.
        self._allowed_origins = frozenset(allowed_origins)

    async def serve(self, websocket: WebSocket) -> None:
        origin = websocket.headers.get("origin")
        if not origin_allowed(origin, self._allowed_origins):
            logger.warning("inference socket refused to a browser page from %r", origin)
            reason = "this origin may not use the inference socket (--inference-cors-allowed-host)"
            await refuse_origin(websocket, reason)
            return
        await websocket.accept()
        # Every request of the socket is a child of the trace given at connection, if any.
        traceparent = websocket.headers.get("traceparent")
        outgoing: deque[bytes] = deque()
        ready = asyncio.Event()
        in_flight: dict[str, RelayHandle] = {}
        write_loop = _batched_write_loop if text_frames_supported(websocket.scope) else _write_loop
        writer = asyncio.create_task(write_loop(websocket, outgoing, ready))

        def send(message: dict[str, Any] | bytes) -> None:
            outgoing.append(message if isinstance(message, bytes) else orjson.dumps(message))
            ready.set()

        receive_in_batches(websocket.scope)
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                for frame in received_messages(message):
                    self._handle(frame, send, in_flight, traceparent)
        except WebSocketDisconnect:
            pass  # the client left: its requests stop below
        except RuntimeError as error:
            # Starlette's answer to a socket used after it closed under us.
            logger.warning("inference socket failed: %s", error)
        finally:
            # The client is gone: every one of its requests stops on its agent.
            for request in list(in_flight.values()):
                request.cancel()
            in_flight.clear()
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                try:
                    await writer
                except Exception:
                    logger.exception("writing to an inference socket failed")

    def _handle(
        self, frame: str | bytes, send: Any, in_flight: dict[str, RelayHandle], traceparent: str | None
    ) -> None:
        request = decode_inference_socket_message(frame)
        if isinstance(request, InvalidBody):
            send(error_envelope(_request_id_of(frame), BalancerErrorCode.BAD_REQUEST, request.message))
            return
        if isinstance(request, SocketStop):
            stopped = in_flight.pop(request.request_id, None)
            if stopped is not None:
                stopped.cancel()
            return
        if request.id in in_flight:
            description = f"request id {request.id!r} is already in flight"
            send(error_envelope(request.id, BalancerErrorCode.BAD_REQUEST, description))
            return
        if isinstance(request.params, ContinueFromConversationHistoryParams):
            method = BalancerMethod.CONTINUE_FROM_CONVERSATION_HISTORY
        else:
            method = BalancerMethod.CONTINUE_FROM_RAW_PROMPT
        limited = limit_generation(request.params, self._limits)
        if isinstance(limited, LimitExceeded):
            send(error_envelope(request.id, BalancerErrorCode.BAD_REQUEST, limited.message))
            return
        # Kept serialized while the request waits: a fraction of the memory of
        # the parsed objects, and sent to the agent as is. Params validated as
        # sent and not limited go as the client wrote them: serializing the
        # model again is a visible share of the balancer's work per dispatch.
        if limited is request.params and request.sent is not None:
            params = orjson.dumps(request.sent)
        else:
            params = limited.model_dump_json(by_alias=True).encode()
        # Only the id is kept by the sink, not the whole parsed request (it
        # dominated the memory of a buffered request).
        sink = _SocketSink(request.id, send, in_flight)
        relayed = self._relay.start(method, params, continue_trace(traceparent), sink)
        if not relayed.ended:  # a full buffer, say, ends it at once
            in_flight[request.id] = relayed


class _SocketSink:
    """Writes one request's events to the socket, as Paddler's envelopes."""

    __slots__ = ("_in_flight", "_prefix", "_prefix_agent", "_request_id", "_send")

    def __init__(self, request_id: str, send: Any, in_flight: dict[str, RelayHandle]) -> None:
        self._request_id = request_id
        self._send = send
        self._in_flight = in_flight
        # The envelope around each streamed response is the same bytes every time:
        # serialized once per serving agent, not once per token.
        self._prefix = b""
        self._prefix_agent: str | None = None

    def relayed(self, event: Relayed) -> None:
        if not self._prefix or self._prefix_agent != event.generated_by:
            self._prefix_agent = event.generated_by
            self._prefix = envelope_prefix(self._request_id, event.generated_by)
        prefix, send = self._prefix, self._send
        for response in event.responses:
            send(prefix + orjson.dumps(response) + b"}}")

    def ended(self, event: RelayFinished | RelayFailed) -> None:
        self._in_flight.pop(self._request_id, None)
        request_id = self._request_id
        if isinstance(event, RelayFinished):
            self._send(response_envelope(request_id, event.generated_by, event.response))
            return
        string_response = _STRING_RESPONSES.get(event.reason)
        if string_response is not None:
            self._send(response_envelope(request_id, None, string_response))
        else:
            self._send(error_envelope(request_id, event.code, event.description))


async def _write_loop(websocket: WebSocket, outgoing: deque[bytes], ready: asyncio.Event) -> None:
    # One writer per socket: frames of concurrent requests never interleave,
    # and a slow client slows only its own socket.
    while True:
        await ready.wait()
        ready.clear()
        while outgoing:
            await websocket.send({"type": "websocket.send", "text": outgoing.popleft().decode()})


async def _batched_write_loop(websocket: WebSocket, outgoing: deque[bytes], ready: asyncio.Event) -> None:
    # Everything queued during one event-loop step leaves in one socket write.
    while True:
        await ready.wait()
        ready.clear()
        if outgoing:
            frames = list(outgoing)
            outgoing.clear()
            await websocket.send({"type": "websocket.send", TEXT_FRAMES: frames})


def _request_id_of(frame: str | bytes) -> str:
    # Best effort, so that a client can match the error to its request.
    try:
        message = orjson.loads(frame)
        request_id = message["Request"]["id"]
        return request_id if isinstance(request_id, str) else ""
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return ""
