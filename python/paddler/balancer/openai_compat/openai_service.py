"""The OpenAI compatible API (`--compat-openai-addr`), on top of the same relay."""

from __future__ import annotations

import asyncio
import base64
import struct
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from pathlib import PurePath
from typing import Any

from pydantic import TypeAdapter
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from paddler.balancer.dispatch.agent_controller_pool import AgentControllerPool
from paddler.balancer.dispatch.embedding_batch_relay import (
    EmbeddingBatchRelay,
    EmbeddingTokens,
    check_batch_size,
)
from paddler.balancer.dispatch.model_pool import ModelPool
from paddler.balancer.dispatch.reconciliation_service import ReconciliationService
from paddler.balancer.dispatch.relay_event import Relayed, RelayEvent, RelayFinished
from paddler.balancer.dispatch.request_limits import LimitExceeded, RequestLimits
from paddler.balancer.dispatch.request_relay import RequestRelay
from paddler.balancer.http.bearer_auth import BearerAuthMiddleware
from paddler.balancer.http.http_body import not_json_content_type, read_body
from paddler.balancer.http.http_server import HttpServer, TlsFiles
from paddler.balancer.http.json_response import health, json_response
from paddler.balancer.http.openapi_document import openai_openapi, openapi_route
from paddler.balancer.http.trace_context_middleware import TraceContextMiddleware
from paddler.balancer.openai_compat.openai_common import (
    Generation,
    openai_error,
    openai_stream_error,
    sse,
    stream_or_failure,
)
from paddler.balancer.openai_compat.openai_responses import answer_response
from paddler.protocol.agent_desired_model import HuggingFace, LocalToAgent, Url
from paddler.protocol.agent_socket import BalancerMethod
from paddler.protocol.body_validation import InvalidBody, decode_json
from paddler.protocol.grammar_limits import constraint_problem
from paddler.protocol.openai_request import (
    CHAT_COMPLETION_REQUEST,
    COMPLETION_REQUEST,
    EMBEDDING_REQUEST,
    RESPONSES_REQUEST,
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    ResponsesRequest,
)


class OpenAIService:
    def __init__(
        self,
        address: str,
        relay: RequestRelay,
        reconciliation: ReconciliationService,
        pool: AgentControllerPool,
        embedding_relay: EmbeddingBatchRelay,
        api_keys: list[str] | None = None,
        limits: RequestLimits | None = None,
        tls: TlsFiles | None = None,
    ) -> None:
        self._relay = relay
        self._embedding_relay = embedding_relay
        self._reconciliation = reconciliation
        self._pool = pool
        self._limits = limits or RequestLimits()
        routes = [
            Route("/health", health),
            openapi_route(openai_openapi()),
            Route("/v1/models", self._models, methods=["GET"]),
            Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
            Route("/v1/completions", self._completions, methods=["POST"]),
            Route("/v1/embeddings", self._embeddings, methods=["POST"]),
            Route("/v1/responses", self._responses, methods=["POST"]),
        ]
        auth = Middleware(BearerAuthMiddleware, tokens=api_keys or [], what="API key", deny=openai_error)
        # Every OpenAI request continues the caller's trace (traceparent in, and back out).
        self.app = Starlette(routes=routes, middleware=[auth, Middleware(TraceContextMiddleware)])
        self._server = HttpServer(self.app, address, "OpenAI service", graceful_shutdown_s=30, tls=tls)

    async def run(self, shutdown: asyncio.Event) -> None:
        await self._server.run(shutdown)

    def _loaded_model_ids(self) -> list[str]:
        """The models agents have loaded now, by file name without extension (as Paddler names them)."""
        paths = {agent.status.model_path for agent in self._pool.agents.values() if not agent.closed}
        return sorted({PurePath(path).stem for path in paths if path})

    def _model_id(self) -> str:
        """What answers name as their model when the request named none."""
        loaded = self._loaded_model_ids()
        if loaded:
            return loaded[0]
        model = self._reconciliation.desired_state.model
        if isinstance(model, LocalToAgent):
            return PurePath(model.LocalToAgent).stem
        if isinstance(model, HuggingFace):
            return PurePath(model.HuggingFace.filename).stem
        if isinstance(model, Url):
            return PurePath(model.Url.url.rsplit("/", 1)[-1]).stem
        return "paddler"

    async def _models(self, _request: Request) -> Response:
        created = int(time.time())
        pools = self._reconciliation.pools
        if pools.several:
            # Every pool, by the name requests use, loaded now or not.
            data = [
                {
                    "id": pool.name,
                    "object": "model",
                    "created": created,
                    "owned_by": "paddler",
                    "aliases": pool.settings.aliases,
                    "loaded": any(agent.slots_total > 0 for agent in self._pool.in_pool(pool.name)),
                }
                for pool in pools.pools.values()
                if not pool.deleting
            ]
            return json_response({"object": "list", "data": data})
        # One pool: only what can answer now, an empty list while no agent has a model.
        data = [
            {"id": model_id, "object": "model", "created": created, "owned_by": "paddler"}
            for model_id in self._loaded_model_ids()
        ]
        return json_response({"object": "list", "data": data})

    def _route(self, model: str | None) -> ModelPool | Response:
        """The model pool a request's `model` selects, or the error to answer with."""
        pool = self._reconciliation.pools.resolve(model)
        if pool is None:
            return openai_error(
                404,
                f"The model `{model}` does not exist: no model pool has that name or alias (GET /v1/models)",
                "model",
                "model_not_found",
                "invalid_request_error",
            )
        if pool.over_concurrency():
            return openai_error(
                429,
                f"the model pool {pool.name!r} has {pool.in_flight} requests in flight, "
                f"its max_concurrency; retry later",
                code="rate_limit_exceeded",
                error_type="requests",
            )
        return pool

    def _answer_model(self, requested: str | None, pool: ModelPool) -> str:
        """The `model` an answer names: the pool's once there are several, else as before."""
        if self._reconciliation.pools.several:
            return pool.name
        return requested or self._model_id()

    async def _decode(self, request: Request, adapter: TypeAdapter[Any]) -> Any:
        not_json = not_json_content_type(request)
        if not_json is not None:
            return openai_error(415, not_json)
        body = await read_body(request, self._limits.max_body_bytes)
        if isinstance(body, Response):
            return openai_error(
                413, f"the body is larger than the limit of {self._limits.max_body_bytes} bytes"
            )
        if not body.strip():
            return openai_error(400, "the body is empty; a JSON object is expected")
        decoded = decode_json(adapter, body)
        if isinstance(decoded, InvalidBody):
            return openai_error(400, decoded.message)
        return decoded

    async def _chat_completions(self, request: Request) -> Response:
        body = await self._decode(request, CHAT_COMPLETION_REQUEST)
        if isinstance(body, Response):
            return body
        assert isinstance(body, ChatCompletionRequest)
        conversation = [message.for_agent() for message in body.messages]
        limit = self._limit([message.text() for message in body.messages], body.token_limit())
        if isinstance(limit, LimitExceeded):
            return openai_error(400, limit.message)
        params = {
            "add_generation_prompt": True,
            "conversation_history": conversation,
            "enable_thinking": body.enable_thinking(),
            "max_tokens": limit,
            "sampling": body.sampling(),
        }
        tools = body.agent_tools()
        if tools:
            params["tools"] = tools
        grammar = body.response_format.grammar() if body.response_format is not None else None
        if grammar is not None:
            params["grammar"] = grammar
        too_complex = constraint_problem(grammar, tools)
        if too_complex is not None:
            return openai_error(400, too_complex.message, "response_format" if grammar else "tools")
        return await self._answer(
            body, BalancerMethod.CONTINUE_FROM_CONVERSATION_HISTORY, params, limit, chat=True
        )

    async def _completions(self, request: Request) -> Response:
        body = await self._decode(request, COMPLETION_REQUEST)
        if isinstance(body, Response):
            return body
        assert isinstance(body, CompletionRequest)
        requested = body.max_tokens or -1
        if "max_tokens" not in body.model_fields_set and self._limits.max_tokens:
            # OpenAI's default of 16 was not asked for: within a lower ceiling, not refused by it.
            requested = min(requested, self._limits.max_tokens)
        limit = self._limit(None, requested)
        if isinstance(limit, LimitExceeded):
            return openai_error(400, limit.message)
        params = {"raw_prompt": body.prompt_text(), "max_tokens": limit, "sampling": body.sampling()}
        return await self._answer(body, BalancerMethod.CONTINUE_FROM_RAW_PROMPT, params, limit, chat=False)

    async def _embeddings(self, request: Request) -> Response:
        body = await self._decode(request, EMBEDDING_REQUEST)
        if isinstance(body, Response):
            return body
        assert isinstance(body, EmbeddingRequest)
        texts = body.texts()
        exceeded = check_batch_size(len(texts), self._limits)
        if exceeded is not None:
            return openai_error(400, exceeded.message, "input")
        pool = self._route(body.model)
        if isinstance(pool, Response):
            return pool
        refused = self._embedding_relay.refusal(pool)
        if refused is not None:
            return openai_error(refused.status, refused.message)
        # OpenAI's vectors are unit length.
        params = {
            "input_batch": [{"id": str(index), "content": text} for index, text in enumerate(texts)],
            "normalization_method": "L2",
        }
        vectors: dict[int, list[float]] = {}
        failure: tuple[int, str] | None = None
        tokens = EmbeddingTokens()
        async with aclosing(self._embedding_relay.relay(params, tokens=tokens, pool=pool)) as events:
            async for event in events:
                if isinstance(event, Relayed):
                    for response in event.responses:
                        embedding = response.get("Embedding", {}).get("Embedding")
                        if embedding is not None:
                            vectors[int(embedding["source_document_id"])] = embedding["embedding"]
                elif isinstance(event, RelayFinished):
                    result = event.response.get("Embedding") if isinstance(event.response, dict) else None
                    if isinstance(result, dict) and isinstance(result.get("Error"), str):
                        # Our agents end a batch with Error for a document they refuse
                        # (empty, or longer than their embedding batch); a failure to
                        # compute is a JSON-RPC error, a RelayFailed here.
                        failure = (400, f"embedding failed: {result['Error']}")
                    elif result != "Done":
                        failure = (500, f"the agent ended the embedding batch with {result!r}")
                else:
                    failure = (event.code, event.description)
        if failure is None and len(vectors) != len(texts):
            failure = (500, "the agents returned fewer embeddings than inputs")
        if failure is not None:
            return openai_error(*failure)
        data = [
            {
                "object": "embedding",
                "index": index,
                "embedding": _encode(vectors[index], body.encoding_format),
            }
            for index in range(len(texts))
        ]
        return json_response(
            {
                "object": "list",
                "data": data,
                "model": self._answer_model(body.model, pool),
                "usage": {"prompt_tokens": tokens.count, "total_tokens": tokens.count},
            }
        )

    async def _responses(self, request: Request) -> Response:
        body = await self._decode(request, RESPONSES_REQUEST)
        if isinstance(body, Response):
            return body
        assert isinstance(body, ResponsesRequest)
        limit = self._limit(
            [str(message["content"]) for message in body.conversation()], body.max_output_tokens or -1
        )
        if isinstance(limit, LimitExceeded):
            return openai_error(400, limit.message)
        pool = self._route(body.model)
        if isinstance(pool, Response):
            return pool
        return await answer_response(self._relay, body, self._answer_model(body.model, pool), limit, pool)

    def _limit(self, texts: list[str] | None, max_tokens: int) -> int | LimitExceeded:
        """The max_tokens to relay, or why the request is refused; `texts`: each message's text."""
        if texts is not None:
            exceeded = self._limits.check_conversation(texts)
            if exceeded is not None:
                return exceeded
        return self._limits.token_limit(max_tokens)

    async def _answer(
        self,
        body: ChatCompletionRequest | CompletionRequest,
        method: BalancerMethod,
        params: dict[str, Any],
        limit: int,
        *,
        chat: bool,
    ) -> Response:
        pool = self._route(body.model)
        if isinstance(pool, Response):
            return pool
        completion_id = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex
        created = int(time.time())
        model = self._answer_model(body.model, pool)
        if body.stream:
            include_usage = body.stream_options is not None and body.stream_options.include_usage
            events = await stream_or_failure(self._relay.relay(method, params, pool=pool))
            if isinstance(events, tuple):
                return openai_error(*events)
            return StreamingResponse(
                self._stream(completion_id, created, model, events, limit, chat, include_usage),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        generation = Generation()
        text, reasoning = await generation.collect(self._relay.relay(method, params, pool=pool))
        if generation.error is not None:
            return openai_error(*generation.error)
        finish_reason = generation.finish_reason(limit)
        if chat:
            message: dict[str, Any] = {"role": "assistant", "content": text or None}
            if reasoning:
                message["reasoning_content"] = reasoning
            if generation.tool_calls:
                message["tool_calls"] = generation.tool_calls
            elif not text:
                message["content"] = ""
            choice: dict[str, Any] = {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        else:
            choice = {"index": 0, "text": text, "finish_reason": finish_reason, "logprobs": None}
        return json_response(
            {
                "id": completion_id,
                "object": "chat.completion" if chat else "text_completion",
                "created": created,
                "model": model,
                "choices": [choice],
                "usage": generation.openai_usage(),
            }
        )

    async def _stream(
        self,
        completion_id: str,
        created: int,
        model: str,
        relayed: AsyncGenerator[RelayEvent, None],
        limit: int,
        chat: bool,
        include_usage: bool,
    ) -> AsyncIterator[bytes]:
        base = {
            "id": completion_id,
            "object": "chat.completion.chunk" if chat else "text_completion",
            "created": created,
            "model": model,
        }

        def chunk(delta: dict[str, Any] | str, finish_reason: str | None = None) -> dict[str, Any]:
            choice: dict[str, Any] = {"index": 0, "finish_reason": finish_reason, "logprobs": None}
            choice["delta" if chat else "text"] = delta
            return {**base, "choices": [choice]}

        if chat:
            yield sse(chunk({"role": "assistant", "content": ""}))
        generation = Generation()
        async with aclosing(relayed) as events:
            async for event in events:
                if isinstance(event, Relayed):
                    pieces = generation.pieces(event)
                    text = "".join(piece for kind, piece in pieces if kind == "content")
                    thought = "".join(piece for kind, piece in pieces if kind == "reasoning")
                    if thought and chat:
                        yield sse(chunk({"reasoning_content": thought}))
                    if text:
                        yield sse(chunk({"content": text} if chat else text))
                elif isinstance(event, RelayFinished):
                    generation.finish(event)
                else:
                    generation.error = (event.code, event.description)
        if generation.error is not None:
            code, message = generation.error
            yield openai_stream_error(code, message)
        else:
            if chat and generation.tool_calls:
                calls = [{"index": index, **call} for index, call in enumerate(generation.tool_calls)]
                yield sse(chunk({"tool_calls": calls}))
            yield sse(chunk({} if chat else "", generation.finish_reason(limit)))
            if include_usage:
                yield sse({**base, "choices": [], "usage": generation.openai_usage()})
        yield b"data: [DONE]\n\n"


def _encode(vector: list[float], encoding_format: str) -> list[float] | str:
    if encoding_format == "base64":
        # Little-endian float32, as the OpenAI API sends it.
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector
