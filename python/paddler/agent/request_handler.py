"""Serves the balancer's requests on this agent's engine, one task per request
(never one per token); tokens go out as `generated_token` notifications."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any

import orjson

from paddler.agent.embedding import EmbeddingDocument, Normalization, NormalizationMethod
from paddler.agent.generation_event import (
    ErrorKind,
    GenerationEvent,
    GenerationFailed,
    GenerationFinished,
    TokenGenerated,
    TokenKind,
    ToolCallsParsed,
    Usage,
)
from paddler.agent.grammar import GbnfGrammar, Grammar, JsonSchemaGrammar, ToolChoice
from paddler.agent.inference_engine import EmbeddingError, EmbeddingInputError
from paddler.agent.reconciler import LeaseRefused, Reconciler, ServingModel
from paddler.agent.sampling_config import SamplingConfig
from paddler.protocol import agent_socket
from paddler.protocol.agent_socket import (
    CONTEXT_EXHAUSTED,
    SAMPLING_OVERRIDES,
    TOKEN_COUNT,
    AgentMethod,
    BalancerMethod,
    RpcErrorCode,
    SamplingOverrides,
)
from paddler.protocol.body_validation import InvalidBody, decode_python
from paddler.protocol.embedding_request import GENERATE_EMBEDDING_BATCH, GenerateEmbeddingBatchParams
from paddler.protocol.grammar_limits import constraint_problem
from paddler.protocol.inference_request import (
    CONTINUE_FROM_CONVERSATION_HISTORY,
    CONTINUE_FROM_RAW_PROMPT,
    ContinueFromConversationHistoryParams,
    ContinueFromRawPromptParams,
    GbnfGrammarConstraint,
    GrammarConstraint,
)
from paddler.protocol.inference_response import usage
from paddler.telemetry.request_tracer import RequestTracer

logger = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], None]
# Waits until what was sent so far is on the socket.
Flushed = Callable[[], Awaitable[None]]


async def nothing_to_flush() -> None:
    """`Flushed` while no connection is up: what is sent then goes nowhere."""


def _send_nowhere(_message: dict[str, Any]) -> None:
    """`Send` while no connection is up."""


# Failures that end a generation with a JSON-RPC error. The client's own
# mistakes are INVALID_PARAMS (400 to the client); anything not listed
# (KV_CACHE_FULL, DECODE_FAILED) is the agent's: INTERNAL_ERROR (500, and
# the balancer tries another agent if no token was sent yet).
_FAILURE_CODES = {
    ErrorKind.INVALID_REQUEST: RpcErrorCode.INVALID_PARAMS,
    ErrorKind.PROMPT_TOO_LONG: RpcErrorCode.INVALID_PARAMS,
    # The engine closed under the request (a new model is being loaded):
    # the balancer dispatches it again when no token was sent yet.
    ErrorKind.SHUTTING_DOWN: RpcErrorCode.NO_MODEL_LOADED,
}


class _Reply(Exception):
    """Ends a request early with a JSON-RPC error."""

    def __init__(self, code: RpcErrorCode, message: str) -> None:
        self.code = code
        self.message = message


# Failures that end a generation as one of the protocol's terminal
# GeneratedToken variants (a string payload), not as a JSON-RPC error. Which
# of them are the client's fault is the OpenAI service's call (openai_common).
_TERMINAL_VARIANTS = {
    ErrorKind.CHAT_TEMPLATE_ERROR: "ChatTemplateError",
    ErrorKind.GRAMMAR_SYNTAX_ERROR: "GrammarSyntaxError",
    ErrorKind.GRAMMAR_INCOMPATIBLE_WITH_THINKING: "GrammarIncompatibleWithThinking",
    ErrorKind.GRAMMAR_REJECTED_MODEL_OUTPUT: "GrammarRejectedModelOutput",
    ErrorKind.SAMPLER_ERROR: "SamplerError",
    ErrorKind.MULTIMODAL_NOT_SUPPORTED: "MultimodalNotSupported",
    ErrorKind.TOOL_SCHEMA_INVALID: "ToolSchemaInvalid",
    ErrorKind.TOOL_CALL_PARSE_FAILED: "ToolCallParseFailed",
    ErrorKind.IMAGE_DECODING_FAILED: "ImageDecodingFailed",
}

_TOKEN_VARIANTS = {
    TokenKind.CONTENT: "ContentToken",
    TokenKind.REASONING: "ReasoningToken",
    TokenKind.TOOL_CALL: "ToolCallToken",
    TokenKind.UNDETERMINABLE: "UndeterminableToken",
}


def _done(native: Usage) -> dict[str, Any]:
    return {
        "Done": {
            "usage": usage(
                prompt_tokens=native.prompt_tokens,
                cached_prompt_tokens=native.cached_prompt_tokens,
                content_tokens=native.content_tokens,
                reasoning_tokens=native.reasoning_tokens,
                tool_call_tokens=native.tool_call_tokens,
                undeterminable_tokens=native.undeterminable_tokens,
                input_image_tokens=native.input_image_tokens,
            )
        }
    }


def _terminal_failure(event: GenerationFailed) -> dict[str, Any] | None:
    """The protocol's terminal variant for an engine failure, or None for a JSON-RPC error."""
    if event.kind is ErrorKind.TOOL_CALL_VALIDATION_FAILED:
        return {"ToolCallValidationFailed": list(event.details) or [event.message]}
    if event.kind is ErrorKind.IMAGE_EXCEEDS_BATCH_SIZE and event.oversized_image is not None:
        oversized = event.oversized_image
        return {
            "ImageExceedsBatchSize": {"image_tokens": oversized.image_tokens, "n_batch": oversized.n_batch}
        }
    if event.kind is ErrorKind.UNRECOGNIZED_TOOL_CALL_FORMAT:
        return {
            "UnrecognizedToolCallFormat": {
                "text": event.message,
                "ffi_error_message": "the chat format's parser found no tool call in this text",
            }
        }
    variant = _TERMINAL_VARIANTS.get(event.kind)
    return None if variant is None else {variant: event.message}


def _grammar(constraint: GrammarConstraint | None) -> Grammar | dict[str, str] | None:
    """The engine's grammar for a request's constraint, or a terminal variant if unusable."""
    if constraint is None:
        return None
    if isinstance(constraint, GbnfGrammarConstraint):
        return GbnfGrammar(constraint.grammar, constraint.root)
    schema = constraint.schema_
    if isinstance(schema, str):
        # The official client sends the schema as JSON text.
        try:
            schema = orjson.loads(schema)
        except orjson.JSONDecodeError as error:
            return {"GrammarSyntaxError": f"the JSON schema is not valid JSON: {error}"}
        if not isinstance(schema, dict | bool):
            return {"GrammarSyntaxError": "a JSON schema must be an object or a boolean"}
    return JsonSchemaGrammar(schema)


class Channel:
    """One balancer connection, as the request handler sees it: where the answers of the
    requests that came on it go, and those requests (their ids are that balancer's own)."""

    __slots__ = ("flushed", "send", "tasks")

    def __init__(self, send: Send, flushed: Flushed) -> None:
        self.send = send
        self.flushed = flushed
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def close(self) -> None:
        """Nobody can receive these answers any more: the requests stop."""
        self.send = _send_nowhere
        self.flushed = nothing_to_flush
        for task in list(self.tasks.values()):
            task.cancel()


class RequestHandler:
    def __init__(self, reconciler: Reconciler, tracer: RequestTracer | None = None) -> None:
        self._reconciler = reconciler
        self._tracer = tracer or RequestTracer()
        # One per balancer connection, from `attach` to `detach`.
        self._channels: set[Channel] = set()

    def attach(self, send: Send, flushed: Flushed) -> Channel:
        """A connection to a balancer is up: its requests' answers go to `send`."""
        channel = Channel(send, flushed)
        self._channels.add(channel)
        return channel

    def detach(self, channel: Channel) -> None:
        """The connection is gone: nobody can receive the answers of its requests in
        flight, so they stop (other balancers' requests go on)."""
        self._channels.discard(channel)
        channel.close()

    def handle_request(self, message: dict[str, Any], channel: Channel) -> None:
        request_id = message.get("id")
        method = message.get("method")
        params = message.get("params")
        if not isinstance(request_id, str):
            message_text = "a request id must be a string"
            channel.send(agent_socket.error(None, RpcErrorCode.INVALID_REQUEST, message_text))
            return
        if request_id in channel.tasks:
            message_text = "this id is already running"
            channel.send(agent_socket.error(request_id, RpcErrorCode.DUPLICATE_REQUEST_ID, message_text))
            return
        task = asyncio.create_task(self._serve(request_id, method, params, channel))
        channel.tasks[request_id] = task
        task.add_done_callback(lambda _: channel.tasks.pop(request_id, None))

    def stop_responding_to(self, request_id: str, channel: Channel) -> None:
        task = channel.tasks.get(request_id)
        if task is not None:
            task.cancel()

    async def drain(self, timeout_s: float) -> None:
        """Waits for the requests in flight to finish, for at most `timeout_s`."""
        tasks = [task for channel in self._channels for task in channel.tasks.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)

    def cancel_all(self) -> None:
        for channel in list(self._channels):
            for task in list(channel.tasks.values()):
                task.cancel()

    async def _serve(self, request_id: str, method: Any, params: Any, channel: Channel) -> None:
        # The balancer's span is this request's parent (docs/agent-socket.md).
        traceparent = params.get("traceparent") if isinstance(params, dict) else None
        span = None
        if isinstance(traceparent, str):
            span = self._tracer.start_span(
                "paddler.agent.request",
                traceparent,
                own_ids=False,
                attributes={"paddler.method": str(method)},
            )
        outcome, failure = "ok", None
        try:
            result = await self._dispatch(request_id, method, params, channel)
            channel.send(agent_socket.result(request_id, result))
        except _Reply as reply:
            outcome, failure = "error", reply.message
            channel.send(agent_socket.error(request_id, reply.code, reply.message))
        except asyncio.CancelledError:
            # Stopped by the balancer, or the connection is gone; the engine
            # request is cancelled with the task, which ends cancelled.
            outcome = "cancelled"
            raise
        except Exception as error:  # a bug must cost one request, never the agent
            outcome, failure = "error", f"agent error: {error}"
            logger.exception("request %s failed", request_id)
            channel.send(agent_socket.error(request_id, RpcErrorCode.INTERNAL_ERROR, failure))
        finally:
            if span is not None:
                span.set_attribute("paddler.outcome", outcome)
                span.end(error=failure)
            if isinstance(traceparent, str) and logger.isEnabledFor(logging.INFO):
                _log_request(request_id, traceparent, outcome, failure)

    async def _dispatch(self, request_id: str, method: Any, params: Any, channel: Channel) -> Any:
        overrides = SamplingOverrides()
        traceparent = None
        if isinstance(params, dict) and ("sampling" in params or "traceparent" in params):
            # Internal members next to the public params (docs/agent-socket.md).
            params = dict(params)
            if "sampling" in params:
                overrides = _decode(SAMPLING_OVERRIDES, params.pop("sampling"))
            traceparent = params.pop("traceparent", None)
            logger.debug("request %s: %s (traceparent %s)", request_id, method, traceparent)
        if method == BalancerMethod.CONTINUE_FROM_RAW_PROMPT:
            raw = _decode(CONTINUE_FROM_RAW_PROMPT, params)
            return await self._generate(request_id, raw, overrides, channel)
        if method == BalancerMethod.CONTINUE_FROM_CONVERSATION_HISTORY:
            conversation = _decode(CONTINUE_FROM_CONVERSATION_HISTORY, params)
            return await self._generate(request_id, conversation, overrides, channel)
        if method == BalancerMethod.GET_MODEL_METADATA:
            serving = self._reconciler.serving
            return None if serving is None else {"metadata": serving.engine.metadata()}
        if method == BalancerMethod.GET_CHAT_TEMPLATE_OVERRIDE:
            serving = self._reconciler.serving
            if serving is None or serving.chat_template_override is None:
                return None
            return {"content": serving.chat_template_override}
        if method == BalancerMethod.GENERATE_EMBEDDING_BATCH:
            return await self._embed(request_id, _decode(GENERATE_EMBEDDING_BATCH, params), channel)
        raise _Reply(RpcErrorCode.METHOD_NOT_FOUND, f"unknown method {method!r}")

    async def _generate(
        self,
        request_id: str,
        params: ContinueFromRawPromptParams | ContinueFromConversationHistoryParams,
        overrides: SamplingOverrides,
        channel: Channel,
    ) -> Any:
        # Whatever sent the request, nesting that would overflow llama.cpp's parsers stops here.
        too_complex = constraint_problem(
            params.grammar, params.tools if isinstance(params, ContinueFromConversationHistoryParams) else ()
        )
        if too_complex is not None:
            raise _Reply(RpcErrorCode.INVALID_PARAMS, too_complex.message)
        grammar = _grammar(params.grammar)
        if isinstance(grammar, dict):
            return grammar
        with self._reconciler.lease(channel) as serving:
            if isinstance(serving, LeaseRefused):
                raise _refusal(serving)
            sampling = _sampling(serving, params.max_tokens, overrides)
            engine = serving.engine
            events: AsyncIterator[GenerationEvent]
            if isinstance(params, ContinueFromConversationHistoryParams):
                events = engine.continue_conversation(
                    [
                        message.model_dump(mode="json", exclude_none=True)
                        for message in params.conversation_history
                    ],
                    sampling,
                    tools=[tool.model_dump(mode="json", exclude_none=True) for tool in params.tools],
                    tool_choice=ToolChoice(overrides.tool_choice),
                    add_generation_prompt=params.add_generation_prompt,
                    enable_thinking=params.enable_thinking,
                    grammar=grammar,
                    image_resize_to_fit=serving.parameters.image_resize_to_fit,
                )
            else:
                events = engine.generate(params.raw_prompt, sampling, grammar=grammar)
            return await self._stream(request_id, events, channel.send)

    async def _stream(self, request_id: str, events: AsyncIterator[GenerationEvent], send: Send) -> Any:
        async for event in events:
            if isinstance(event, TokenGenerated):
                if event.text:
                    send(
                        agent_socket.notification(
                            AgentMethod.GENERATED_TOKEN,
                            {"request_id": request_id, "token": {_TOKEN_VARIANTS[event.kind]: event.text}},
                        )
                    )
            elif isinstance(event, ToolCallsParsed):
                calls = [
                    {"id": call.id, "name": call.name, "arguments": {"ValidJson": call.arguments}}
                    for call in event.calls
                ]
                send(
                    agent_socket.notification(
                        AgentMethod.GENERATED_TOKEN,
                        {"request_id": request_id, "token": {"ToolCallParsed": calls}},
                    )
                )
            elif isinstance(event, GenerationFinished):
                return _done(event.usage)
            elif isinstance(event, GenerationFailed):
                if event.kind is ErrorKind.CONTEXT_EXHAUSTED:
                    # The slot's context is full: the answer ends here, as at max_tokens.
                    # Paddler's API has only Done for it; the OpenAI API says "length",
                    # so the balancer is told (and removes the member).
                    return {**_done(event.usage), CONTEXT_EXHAUSTED: True}
                terminal = _terminal_failure(event)
                if terminal is not None:
                    return terminal
                code = _FAILURE_CODES.get(event.kind, RpcErrorCode.INTERNAL_ERROR)
                raise _Reply(code, f"{event.kind.value}: {event.message}")
        raise _Reply(RpcErrorCode.INTERNAL_ERROR, "the generation ended without a result")

    async def _embed(self, request_id: str, params: GenerateEmbeddingBatchParams, channel: Channel) -> Any:
        with self._reconciler.lease(channel) as serving:
            if isinstance(serving, LeaseRefused):
                raise _refusal(serving)
            if not serving.engine.embeddings_enabled:
                raise _Reply(
                    RpcErrorCode.NOT_SUPPORTED,
                    "embeddings are off: set inference_parameters.enable_embeddings in the desired state",
                )
            method = params.normalization_method
            if method == "L2":
                normalization = Normalization(NormalizationMethod.L2)
            elif method == "None":
                normalization = Normalization(NormalizationMethod.NONE)
            else:
                normalization = Normalization(NormalizationMethod.RMS_NORM, method.RmsNorm.epsilon)
            documents = [EmbeddingDocument(document.id, document.content) for document in params.input_batch]
            engine = serving.engine
            try:
                # Every document is checked before any is computed: a refused batch costs nothing.
                token_counts = await engine.embedding_token_counts(documents)
            except EmbeddingInputError as error:
                return {"Error": str(error)}
            wire_method = method if isinstance(method, str) else method.model_dump(mode="json")
            pooling = serving.parameters.pooling_type.value
            passes = _embedding_passes(
                documents,
                token_counts,
                serving.parameters.embedding_batch_size,
                engine.embedding_sequences_per_batch,
            )
            # One pass of the embedding context at a time, each sent before the next is
            # computed: however large the batch, the agent holds one pass's vectors.
            for documents_of_pass in passes:
                try:
                    embeddings = await engine.embed(documents_of_pass, normalization)
                except EmbeddingError as error:
                    # The documents were checked: this is the engine failing, not the client.
                    raise _Reply(
                        RpcErrorCode.INTERNAL_ERROR, f"computing embeddings failed: {error}"
                    ) from error
                for embedding in embeddings:
                    channel.send(
                        agent_socket.notification(
                            AgentMethod.EMBEDDING,
                            {
                                "request_id": request_id,
                                "embedding": {
                                    "embedding": embedding.vector,
                                    "normalization_method": wire_method,
                                    "pooling_type": pooling,
                                    "source_document_id": embedding.document_id,
                                    # Ours alone: the balancer removes it (usage on the OpenAI API).
                                    TOKEN_COUNT: embedding.token_count,
                                },
                            },
                        )
                    )
                await channel.flushed()
            return "Done"


def _embedding_passes(
    documents: Sequence[EmbeddingDocument],
    token_counts: Sequence[int],
    batch_tokens: int,
    batch_documents: int,
) -> Iterator[Sequence[EmbeddingDocument]]:
    """The documents in the groups the embedding context takes in one pass (as the native
    runner packs them): at most `batch_documents` documents and `batch_tokens` tokens."""
    first = 0
    while first < len(documents):
        count = 0
        tokens = 0
        while (
            first + count < len(documents)
            and count < max(1, batch_documents)
            and (count == 0 or tokens + token_counts[first + count] <= batch_tokens)
        ):
            tokens += token_counts[first + count]
            count += 1
        yield documents[first : first + count]
        first += count


def _refusal(refused: LeaseRefused) -> _Reply:
    if refused is LeaseRefused.SLOTS_FULL:
        # Before any token: the balancer tries another agent or buffers the request.
        return _Reply(RpcErrorCode.SLOTS_FULL, "every slot of this agent is busy")
    return _Reply(RpcErrorCode.NO_MODEL_LOADED, "this agent has no model loaded")


def _decode(adapter: Any, params: Any) -> Any:
    decoded = decode_python(adapter, params)
    if isinstance(decoded, InvalidBody):
        raise _Reply(RpcErrorCode.INVALID_PARAMS, decoded.message)
    return decoded


def _sampling(serving: ServingModel, max_tokens: int, overrides: SamplingOverrides) -> SamplingConfig:
    parameters = serving.parameters

    def pick(override: float | None, default: float) -> float:
        return default if override is None else override

    try:
        return SamplingConfig(
            temperature=pick(overrides.temperature, parameters.temperature),
            top_k=parameters.top_k,
            top_p=pick(overrides.top_p, parameters.top_p),
            min_p=parameters.min_p,
            repeat_penalty=parameters.penalty_repeat,
            presence_penalty=pick(overrides.presence_penalty, parameters.penalty_presence),
            frequency_penalty=pick(overrides.frequency_penalty, parameters.penalty_frequency),
            penalty_last_n=parameters.penalty_last_n,
            # -1: as many as the slot's context holds.
            max_tokens=serving.engine.slot_context_size if max_tokens < 0 else max_tokens,
            stop=tuple(overrides.stop),
            ignore_eos=overrides.ignore_eos,
            **({} if overrides.seed is None else {"seed": overrides.seed}),
        )
    except ValueError as error:
        raise _Reply(RpcErrorCode.INVALID_PARAMS, str(error)) from error


def _log_request(request_id: str, traceparent: str, outcome: str, failure: str | None) -> None:
    parts = traceparent.split("-")
    trace_id, parent_span_id = (parts[1], parts[2]) if len(parts) == 4 else (None, None)
    logger.info(
        "request %s %s%s",
        request_id,
        outcome,
        f": {failure}" if failure else "",
        extra={
            "trace_id": trace_id,
            "parent_span_id": parent_span_id,
            "request_id": request_id,
            "outcome": outcome,
        },
    )
