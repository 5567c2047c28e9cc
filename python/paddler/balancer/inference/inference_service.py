"""The inference API: NDJSON streams, the multiplexed inference socket, embeddings."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

import orjson
from pydantic import TypeAdapter
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute

from paddler.balancer.dispatch.embedding_batch_relay import EmbeddingBatchRelay, check_batch_size
from paddler.balancer.dispatch.relay_event import Relayed, RelayEvent, RelayFinished
from paddler.balancer.dispatch.request_limits import LimitExceeded, RequestLimits, limit_generation
from paddler.balancer.dispatch.request_relay import RequestRelay
from paddler.balancer.dispatch.trace_context import continue_trace
from paddler.balancer.http.bearer_auth import BearerAuthMiddleware
from paddler.balancer.http.client_socket_limit import ClientSocketLimitMiddleware
from paddler.balancer.http.cors import cors_middleware
from paddler.balancer.http.http_body import error_response, not_json_content_type, read_json
from paddler.balancer.http.http_server import HttpServer, TlsFiles
from paddler.balancer.http.json_response import health
from paddler.balancer.http.openapi_document import inference_openapi, openapi_route
from paddler.balancer.inference.inference_socket_endpoint import InferenceSocketEndpoint
from paddler.protocol.agent_socket import BalancerMethod
from paddler.protocol.embedding_request import GENERATE_EMBEDDING_BATCH
from paddler.protocol.inference_request import CONTINUE_FROM_CONVERSATION_HISTORY, CONTINUE_FROM_RAW_PROMPT
from paddler.protocol.inference_response import error_envelope, response_envelope

NDJSON = "application/x-ndjson"
INFERENCE_SOCKET_PATH = "/api/v1/inference_socket"


def ndjson_stream(request_id: str, events: AsyncGenerator[RelayEvent, None], traceparent: str) -> Response:
    async def lines() -> AsyncIterator[bytes]:
        # aclosing: a client that leaves cancels this stream, and the relay
        # must tell the agent at once.
        async with aclosing(events):
            async for event in events:
                if isinstance(event, Relayed):
                    yield b"".join(
                        orjson.dumps(response_envelope(request_id, event.generated_by, response)) + b"\n"
                        for response in event.responses
                    )
                elif isinstance(event, RelayFinished):
                    envelope = response_envelope(request_id, event.generated_by, event.response)
                    yield orjson.dumps(envelope) + b"\n"
                else:
                    yield orjson.dumps(error_envelope(request_id, event.code, event.description)) + b"\n"

    # no-cache as Paddler sends it: a proxy must not keep a generation.
    headers = {"X-Request-Id": request_id, "traceparent": traceparent, "Cache-Control": "no-cache"}
    return StreamingResponse(lines(), media_type=NDJSON, headers=headers)


class InferenceService:
    def __init__(
        self,
        address: str,
        relay: RequestRelay,
        embedding_relay: EmbeddingBatchRelay,
        cors_allowed_hosts: list[str],
        api_keys: list[str] | None = None,
        limits: RequestLimits | None = None,
        tls: TlsFiles | None = None,
    ) -> None:
        self._relay = relay
        self._embedding_relay = embedding_relay
        self._limits = limits or RequestLimits()
        routes = [
            Route("/health", health),
            openapi_route(inference_openapi()),
            Route(
                "/api/v1/continue_from_conversation_history",
                self._endpoint(
                    CONTINUE_FROM_CONVERSATION_HISTORY, BalancerMethod.CONTINUE_FROM_CONVERSATION_HISTORY
                ),
                methods=["POST"],
            ),
            Route(
                "/api/v1/continue_from_raw_prompt",
                self._endpoint(CONTINUE_FROM_RAW_PROMPT, BalancerMethod.CONTINUE_FROM_RAW_PROMPT),
                methods=["POST"],
            ),
            Route("/api/v1/generate_embedding_batch", self._embeddings, methods=["POST"]),
            WebSocketRoute(
                INFERENCE_SOCKET_PATH,
                InferenceSocketEndpoint(relay, self._limits, cors_allowed_hosts).serve,
            ),
        ]
        middleware = cors_middleware(cors_allowed_hosts)
        middleware.append(
            Middleware(
                BearerAuthMiddleware,
                tokens=api_keys or [],
                what="inference API key",
                deny=error_response,
                query_token_paths=[INFERENCE_SOCKET_PATH],
            )
        )
        middleware.append(
            Middleware(
                ClientSocketLimitMiddleware, limit=self._limits.max_sockets_per_client, deny=error_response
            )
        )
        self.app = Starlette(routes=routes, middleware=middleware)
        # On shutdown, streams in flight get this long to finish.
        self._server = HttpServer(
            self.app,
            address,
            "inference service",
            graceful_shutdown_s=30,
            ws_max_size=self._limits.max_websocket_frame_bytes,
            ws_max_unsent_bytes=self._limits.max_websocket_unsent_bytes,
            tls=tls,
        )

    def _endpoint(self, adapter: TypeAdapter[Any], method: BalancerMethod) -> Any:
        async def endpoint(request: Request) -> Response:
            not_json = not_json_content_type(request)
            if not_json is not None:
                return error_response(415, not_json)
            decoded = await read_json(request, adapter, self._limits.max_body_bytes)
            if isinstance(decoded, Response):
                return decoded
            params = limit_generation(decoded, self._limits)
            if isinstance(params, LimitExceeded):
                return error_response(400, params.message)
            request_id = uuid.uuid4().hex
            # Kept serialized while the request waits; sent to the agent as is.
            wire_params = params.model_dump_json(by_alias=True).encode()
            trace = continue_trace(request.headers.get("traceparent"))
            events = self._relay.relay(method, wire_params, trace)
            return ndjson_stream(request_id, events, trace.traceparent)

        return endpoint

    async def _embeddings(self, request: Request) -> Response:
        not_json = not_json_content_type(request)
        if not_json is not None:
            return error_response(415, not_json)
        params = await read_json(request, GENERATE_EMBEDDING_BATCH, self._limits.max_body_bytes)
        if isinstance(params, Response):
            return params
        exceeded = check_batch_size(len(params.input_batch), self._limits)
        if exceeded is not None:
            return error_response(400, exceeded.message)
        refused = self._embedding_relay.refusal()
        if refused is not None:
            return error_response(refused.status, refused.message)
        trace = continue_trace(request.headers.get("traceparent"))
        events = self._embedding_relay.relay(params.model_dump(mode="json"), trace)
        return ndjson_stream(uuid.uuid4().hex, events, trace.traceparent)

    async def run(self, shutdown: asyncio.Event) -> None:
        await self._server.run(shutdown)
