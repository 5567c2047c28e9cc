"""The native engine behind an asyncio API.

    engine = await InferenceEngine.load(model_path, EngineConfig(slots=4))
    async for event in engine.generate("Hello", SamplingConfig(max_tokens=16)):
        ...
    async for event in engine.continue_conversation([{"role": "user", "content": "Hi"}], SamplingConfig()):
        ...
    vectors = await engine.embed([EmbeddingDocument("a", "text")], Normalization())
    await engine.close()

Abandoning a generation (breaking out of the loop, CancelledError, an
exception in the caller) cancels the native request: the slot is free again
at the engine's next step.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any, Final

import orjson

from paddler import _core
from paddler.agent import tool_call_validation
from paddler.agent.embedding import Embedding, EmbeddingDocument, Normalization, NormalizationMethod
from paddler.agent.engine_config import EngineConfig, FlashAttention, KvCacheType, PoolingType, ThreadWait
from paddler.agent.event_fanout import EventFanout
from paddler.agent.generation_event import (
    NO_USAGE,
    ErrorKind,
    FinishReason,
    GenerationEvent,
    GenerationFailed,
    GenerationFinished,
    OversizedImage,
    TokenGenerated,
    TokenKind,
    ToolCallsParsed,
    Usage,
)
from paddler.agent.grammar import GbnfGrammar, Grammar, JsonSchemaGrammar, ToolChoice
from paddler.agent.image_decoding import (
    DecodedImage,
    ImageDecodingError,
    decode_images,
    image_urls,
    without_image_data,
)
from paddler.agent.sampling_config import SamplingConfig

ModelLoadError = _core.ModelLoadError
EmbeddingError = _core.EmbeddingError
# A document that cannot be embedded as sent (the caller's fault); an EmbeddingError.
EmbeddingInputError = _core.EmbeddingInputError
ChatTemplateError = _core.ChatTemplateError

Message = Mapping[str, Any]
Tool = Mapping[str, Any]

# Tokenizing a long prompt takes milliseconds; above this size it happens on
# a worker thread instead of the event loop.
_LONG_PROMPT_CHARS: Final = 16_384

_FINISH_REASONS: Final = {
    _core.FinishReason.EndOfGeneration: FinishReason.END_OF_GENERATION,
    _core.FinishReason.StopString: FinishReason.STOP_STRING,
    _core.FinishReason.MaxTokens: FinishReason.MAX_TOKENS,
    _core.FinishReason.Cancelled: FinishReason.CANCELLED,
}

_ERROR_KINDS: Final = {
    _core.ErrorKind.InvalidRequest: ErrorKind.INVALID_REQUEST,
    _core.ErrorKind.PromptTooLong: ErrorKind.PROMPT_TOO_LONG,
    _core.ErrorKind.ContextExhausted: ErrorKind.CONTEXT_EXHAUSTED,
    _core.ErrorKind.KvCacheFull: ErrorKind.KV_CACHE_FULL,
    _core.ErrorKind.DecodeFailed: ErrorKind.DECODE_FAILED,
    _core.ErrorKind.ShuttingDown: ErrorKind.SHUTTING_DOWN,
    _core.ErrorKind.ChatTemplateError: ErrorKind.CHAT_TEMPLATE_ERROR,
    _core.ErrorKind.GrammarSyntaxError: ErrorKind.GRAMMAR_SYNTAX_ERROR,
    _core.ErrorKind.GrammarIncompatibleWithThinking: ErrorKind.GRAMMAR_INCOMPATIBLE_WITH_THINKING,
    _core.ErrorKind.GrammarRejectedModelOutput: ErrorKind.GRAMMAR_REJECTED_MODEL_OUTPUT,
    _core.ErrorKind.SamplerError: ErrorKind.SAMPLER_ERROR,
    _core.ErrorKind.MultimodalNotSupported: ErrorKind.MULTIMODAL_NOT_SUPPORTED,
    _core.ErrorKind.ToolCallParseFailed: ErrorKind.TOOL_CALL_PARSE_FAILED,
    _core.ErrorKind.UnrecognizedToolCallFormat: ErrorKind.UNRECOGNIZED_TOOL_CALL_FORMAT,
    _core.ErrorKind.ImageDecodingFailed: ErrorKind.IMAGE_DECODING_FAILED,
    _core.ErrorKind.ImageExceedsBatchSize: ErrorKind.IMAGE_EXCEEDS_BATCH_SIZE,
}

# Paddler's default for `image_resize_to_fit`: the longer side of an image, at most.
DEFAULT_IMAGE_RESIZE_TO_FIT: Final = 1024

_TOKEN_KINDS: Final = {
    _core.TokenKind.Content: TokenKind.CONTENT,
    _core.TokenKind.Reasoning: TokenKind.REASONING,
    _core.TokenKind.ToolCall: TokenKind.TOOL_CALL,
    _core.TokenKind.Undeterminable: TokenKind.UNDETERMINABLE,
}

_TOOL_CHOICES: Final = {
    ToolChoice.AUTO: _core.ToolChoice.Auto,
    ToolChoice.REQUIRED: _core.ToolChoice.Required,
    ToolChoice.NONE: _core.ToolChoice.NoTools,
}

_POOLING_TYPES: Final = {
    PoolingType.UNSPECIFIED: _core.PoolingType.Unspecified,
    PoolingType.NONE: _core.PoolingType.NoPooling,
    PoolingType.MEAN: _core.PoolingType.Mean,
    PoolingType.CLS: _core.PoolingType.Cls,
    PoolingType.LAST: _core.PoolingType.Last,
    PoolingType.RANK: _core.PoolingType.Rank,
}

_NORMALIZATION_METHODS: Final = {
    NormalizationMethod.NONE: _core.NormalizationMethod.NoNormalization,
    NormalizationMethod.L2: _core.NormalizationMethod.L2,
    NormalizationMethod.RMS_NORM: _core.NormalizationMethod.RmsNorm,
}

_KV_CACHE_TYPES: Final = {
    KvCacheType.F32: _core.KvCacheType.F32,
    KvCacheType.F16: _core.KvCacheType.F16,
    KvCacheType.BF16: _core.KvCacheType.BF16,
    KvCacheType.Q8_0: _core.KvCacheType.Q8_0,
    KvCacheType.Q4_0: _core.KvCacheType.Q4_0,
    KvCacheType.Q4_1: _core.KvCacheType.Q4_1,
    KvCacheType.Q5_0: _core.KvCacheType.Q5_0,
    KvCacheType.Q5_1: _core.KvCacheType.Q5_1,
}


_FLASH_ATTENTION: Final = {
    FlashAttention.AUTO: _core.FlashAttention.Auto,
    FlashAttention.ENABLED: _core.FlashAttention.Enabled,
    FlashAttention.DISABLED: _core.FlashAttention.Disabled,
}


# ggml's polling levels: 50 is its default, 0 sleeps as soon as a graph is done.
_THREAD_POLL: Final = {ThreadWait.SPIN: 50, ThreadWait.SLEEP: 0}


def _native_params(config: EngineConfig) -> _core.EngineParams:
    params = _core.EngineParams()
    params.context_size = config.context_size
    params.slots = config.slots
    params.n_batch = config.n_batch
    params.n_ubatch = config.n_ubatch
    params.n_gpu_layers = config.n_gpu_layers
    params.threads = config.threads
    params.threads_batch = config.threads_batch
    params.thread_poll = _THREAD_POLL[config.thread_wait]
    params.k_cache_type = _KV_CACHE_TYPES[config.k_cache_type]
    params.v_cache_type = _KV_CACHE_TYPES[config.v_cache_type]
    params.flash_attention = _FLASH_ATTENTION[config.flash_attention]
    params.deterministic = config.deterministic
    params.use_mmap = config.use_mmap
    params.chat_template_override = config.chat_template_override or ""
    params.chat_template_refusal = config.chat_template_refusal or ""
    params.enable_embeddings = config.enable_embeddings
    params.embedding_batch_size = config.embedding_batch_size
    params.pooling_type = _POOLING_TYPES[config.pooling_type]
    params.multimodal_projection_path = config.multimodal_projection_path or ""
    return params


def _native_sampling(sampling: SamplingConfig) -> _core.SamplingParams:
    native = _core.SamplingParams()
    native.temperature = sampling.temperature
    native.top_k = sampling.top_k
    native.top_p = sampling.top_p
    native.min_p = sampling.min_p
    native.repeat_penalty = sampling.repeat_penalty
    native.presence_penalty = sampling.presence_penalty
    native.frequency_penalty = sampling.frequency_penalty
    native.penalty_last_n = sampling.penalty_last_n
    native.seed = sampling.seed
    native.max_tokens = sampling.max_tokens
    native.stop = list(sampling.stop)
    native.ignore_eos = sampling.ignore_eos
    return native


def _usage(native: _core.Usage) -> Usage:
    return Usage(
        prompt_tokens=native.prompt_tokens,
        cached_prompt_tokens=native.cached_prompt_tokens,
        completion_tokens=native.completion_tokens,
        content_tokens=native.content_tokens,
        reasoning_tokens=native.reasoning_tokens,
        tool_call_tokens=native.tool_call_tokens,
        undeterminable_tokens=native.undeterminable_tokens,
        input_image_tokens=native.input_image_tokens,
    )


def _failure(event: _core.Event) -> GenerationFailed:
    kind = _ERROR_KINDS[event.error_kind]
    oversized = None
    if kind is ErrorKind.IMAGE_EXCEEDS_BATCH_SIZE:
        oversized = OversizedImage(event.oversized_image_tokens, event.oversized_image_batch_limit)
    return GenerationFailed(kind, event.message, _usage(event.usage), oversized_image=oversized)


def _native_image(image: DecodedImage) -> _core.ImageInput:
    return _core.ImageInput(image.width, image.height, image.pixels, image.id)


def _conversation_request(
    conversation: Sequence[Message],
    tools: Sequence[Tool],
    tool_choice: ToolChoice,
    add_generation_prompt: bool,
    enable_thinking: bool,
) -> _core.Request:
    """Raises TypeError when the conversation or tools are not JSON-serializable."""
    request = _core.Request()
    request.conversation_json = orjson.dumps(list(conversation)).decode()
    if tools:
        request.tools_json = orjson.dumps(list(tools)).decode()
    request.tool_choice = _TOOL_CHOICES[tool_choice]
    request.add_generation_prompt = add_generation_prompt
    request.enable_thinking = enable_thinking
    return request


def _apply_grammar(request: _core.Request, grammar: Grammar | None) -> None:
    if isinstance(grammar, GbnfGrammar):
        request.grammar_kind = _core.GrammarKind.Gbnf
        request.grammar = grammar.grammar
        request.grammar_root = grammar.root
    elif isinstance(grammar, JsonSchemaGrammar):
        request.grammar_kind = _core.GrammarKind.JsonSchema
        request.grammar = orjson.dumps(grammar.schema).decode()


def matrix_kernels_summary(config: EngineConfig) -> str:
    """Which matrix kernels the engine's CPU threads use, in words for the log."""
    if not _core.tinyblas_built():
        return "matrix products on the CPU: ggml's kernels (this build has no tinyBLAS); deterministic"
    if config.deterministic:
        return "matrix products on the CPU: ggml's kernels, deterministic (tinyBLAS off for this engine)"
    return (
        "matrix products on the CPU: llamafile's tinyBLAS for batches (greedy output may depend on the "
        "batch and on prefix reuse, as in llama-server; --deterministic fixes it at some speed)"
    )


class InferenceEngine:
    def __init__(self, native: _core.Engine, loop: asyncio.AbstractEventLoop) -> None:
        self._native = native
        self._fanout = EventFanout(native, loop)
        self._fanout.start()
        self._request_ids = itertools.count(1)
        self._closed = False

    @classmethod
    async def load(cls, model_path: str, config: EngineConfig) -> InferenceEngine:
        """Loads the model on a worker thread; raises ModelLoadError or ValueError."""
        if config.deterministic and not _core.deterministic_kernels_available():
            raise ValueError(
                "deterministic matrix kernels are not available in this build "
                "(tinyBLAS without the linker wrapper): rebuild with -DPADDLER_LLAMAFILE=OFF"
            )
        native = await asyncio.to_thread(_core.Engine, model_path, _native_params(config))
        return cls(native, asyncio.get_running_loop())

    @property
    def slots(self) -> int:
        return self._native.slots

    @property
    def slot_context_size(self) -> int:
        return self._native.slot_context_size

    @property
    def flash_attention_summary(self) -> str:
        """How flash attention was chosen at load (on the CPU, from a short measurement), in words."""
        return self._native.flash_attention_summary

    @property
    def multimodal(self) -> bool:
        """Whether image_url parts are served (a multimodal projection is loaded)."""
        return self._native.multimodal

    def status(self) -> _core.EngineStatus:
        return self._native.status()

    def metadata(self) -> dict[str, str]:
        return self._native.metadata()

    def chat_template(self) -> str:
        return self._native.chat_template()

    def tokenize(self, text: str, *, add_special: bool = False, parse_special: bool = True) -> list[int]:
        return self._native.tokenize(text, add_special, parse_special)

    def detokenize(self, tokens: Sequence[int]) -> str:
        return self._native.detokenize(list(tokens))

    async def generate(
        self,
        prompt: str | Sequence[int],
        sampling: SamplingConfig,
        *,
        grammar: Grammar | None = None,
        add_special: bool = False,
    ) -> AsyncGenerator[GenerationEvent, None]:
        """Streams the tokens of a raw prompt, then one GenerationFinished or GenerationFailed.

        `prompt` is text (special tokens in it are parsed, as in a rendered
        chat template) or token ids. All output counts as content.
        """
        request = _core.Request()
        if isinstance(prompt, str):
            request.prompt_text = prompt
        else:
            request.prompt_tokens = list(prompt)
        request.add_special = add_special
        _apply_grammar(request, grammar)
        async for event in self._run(
            request, sampling, tools=(), heavy=len(request.prompt_text) > _LONG_PROMPT_CHARS
        ):
            yield event

    async def continue_conversation(
        self,
        conversation: Sequence[Message],
        sampling: SamplingConfig,
        *,
        tools: Sequence[Tool] = (),
        tool_choice: ToolChoice = ToolChoice.AUTO,
        add_generation_prompt: bool = True,
        enable_thinking: bool = True,
        grammar: Grammar | None = None,
        image_resize_to_fit: int = DEFAULT_IMAGE_RESIZE_TO_FIT,
    ) -> AsyncGenerator[GenerationEvent, None]:
        """Streams the answer to a conversation rendered with the chat template.

        `conversation` holds OpenAI-style messages (`role`, `content` as text
        or text parts, and `image_url` parts with `data:` URLs for an engine
        with a multimodal projection; images larger than `image_resize_to_fit`
        on a side are scaled down to fit). Tokens are classified as content,
        reasoning or tool call as they stream; offered `tools` are parsed out
        of the answer at the end and their arguments validated against each
        tool's schema (ToolCallsParsed, before GenerationFinished).
        """
        # Checking a client's schemas blocks: off the loop.
        problems = await asyncio.to_thread(tool_call_validation.schema_problems, tools) if tools else []
        if problems:
            yield GenerationFailed(
                ErrorKind.TOOL_SCHEMA_INVALID, "; ".join(problems), NO_USAGE, tuple(problems)
            )
            return
        images: list[DecodedImage] = []
        urls = list(image_urls(conversation)) if self._native.multimodal else []
        if urls:
            # Decoding and scaling images blocks: off the loop.
            try:
                images = await asyncio.to_thread(decode_images, urls, image_resize_to_fit)
            except ImageDecodingError as error:
                yield GenerationFailed(ErrorKind.IMAGE_DECODING_FAILED, str(error), NO_USAGE)
                return
            # The pixels go apart; the conversation keeps where each image is.
            conversation = without_image_data(conversation)
        try:
            request = _conversation_request(
                conversation, tools, tool_choice, add_generation_prompt, enable_thinking
            )
        except TypeError as error:
            yield GenerationFailed(
                ErrorKind.INVALID_REQUEST, f"the conversation is not JSON: {error}", NO_USAGE
            )
            return
        request.images = [_native_image(image) for image in images]
        _apply_grammar(request, grammar)
        called_tools = tools if tool_choice is not ToolChoice.NONE else ()
        # Rendering a template is heavier than tokenizing: off the loop.
        async for event in self._run(request, sampling, tools=called_tools, heavy=True):
            yield event

    async def render_conversation(
        self,
        conversation: Sequence[Message],
        *,
        tools: Sequence[Tool] = (),
        add_generation_prompt: bool = True,
        enable_thinking: bool = True,
    ) -> str:
        """The prompt a conversation renders to; raises ChatTemplateError."""
        request = _conversation_request(
            conversation, tools, ToolChoice.AUTO, add_generation_prompt, enable_thinking
        )
        return await asyncio.to_thread(self._native.render_conversation, request)

    async def _run(
        self, request: _core.Request, sampling: SamplingConfig, *, tools: Sequence[Tool], heavy: bool
    ) -> AsyncGenerator[GenerationEvent, None]:
        if self._closed:
            yield GenerationFailed(ErrorKind.SHUTTING_DOWN, "the engine is closed", NO_USAGE)
            return
        request.id = next(self._request_ids)
        request.sampling = _native_sampling(sampling)
        mailbox = self._fanout.open(request.id)
        ended = False
        parsed: ToolCallsParsed | None = None
        submitting: asyncio.Future[None] | None = None
        try:
            if heavy:
                # Shielded: cancelling this task cannot stop the worker thread,
                # and the submit must be known when the request is cancelled.
                submitting = asyncio.get_running_loop().run_in_executor(None, self._native.submit, request)
                await asyncio.shield(submitting)
            else:
                self._native.submit(request)
            while True:
                event = await mailbox.get()
                if event.kind == _core.EventKind.Token:
                    yield TokenGenerated(event.token, event.text, _TOKEN_KINDS[event.token_kind])
                    continue
                if event.kind == _core.EventKind.ToolCalls:
                    calls = [(call.id, call.name, call.arguments) for call in event.tool_calls]
                    validate = tool_call_validation.validate_calls
                    valid, problems = await asyncio.to_thread(validate, tools, calls)
                    if problems:
                        # The native request is over too (Done follows); its
                        # usage goes with the failure.
                        ended = True
                        done = await mailbox.get()
                        yield GenerationFailed(
                            ErrorKind.TOOL_CALL_VALIDATION_FAILED,
                            "; ".join(problems),
                            _usage(done.usage),
                            tuple(problems),
                        )
                        return
                    parsed = ToolCallsParsed(tuple(valid))
                    continue
                ended = True
                if event.kind == _core.EventKind.Done:
                    if parsed is not None:
                        yield parsed
                    yield GenerationFinished(_FINISH_REASONS[event.finish_reason], _usage(event.usage))
                else:
                    yield _failure(event)
                return
        finally:
            if not ended:
                # Cancelled, abandoned, or the caller raised: never leave the
                # native request running with nobody to read it.
                if submitting is not None and not submitting.done():
                    # The engine ignores a cancel for an id it has not seen:
                    # sent now, it would come before the request it cancels.
                    submitting.add_done_callback(self._cancel_submitted(request.id))
                else:
                    self._native.cancel(request.id)
            self._fanout.close(request.id)

    def _cancel_submitted(self, request_id: int) -> Callable[[asyncio.Future[None]], None]:
        def cancel(submitting: asyncio.Future[None]) -> None:
            # A submit that raised left no native request behind.
            if not submitting.cancelled() and submitting.exception() is None:
                self._native.cancel(request_id)

        return cancel

    @property
    def embeddings_enabled(self) -> bool:
        return self._native.embeddings_enabled

    def chat_template_error(self) -> str | None:
        """Why conversations cannot be rendered (bad override, no template), or None."""
        return self._native.chat_template_error() or None

    @property
    def embedding_sequences_per_batch(self) -> int:
        """How many documents one pass of the embedding context takes at most (with
        `embedding_batch_size` tokens in all); 0 when embeddings are off."""
        return self._native.embedding_sequences_per_batch

    async def embedding_token_counts(self, documents: Sequence[EmbeddingDocument]) -> list[int]:
        """How many tokens each document takes, without computing anything.

        Raises ValueError when embeddings are not enabled, and EmbeddingInputError
        for the first document `embed` would refuse (empty, or longer than the
        embedding batch size).
        """
        if self._closed:
            raise ValueError("the engine is closed")
        return await asyncio.to_thread(self._native.embedding_token_counts, _embedding_inputs(documents))

    async def embed(
        self, documents: Sequence[EmbeddingDocument], normalization: Normalization
    ) -> list[Embedding]:
        """One vector per document, computed beside any running generation.

        Raises ValueError when embeddings are not enabled, EmbeddingInputError
        for a document that is empty or longer than the embedding batch size,
        and EmbeddingError (both are ValueErrors) when computing fails.
        """
        if self._closed:
            raise ValueError("the engine is closed")
        native_normalization = _core.Normalization()
        native_normalization.method = _NORMALIZATION_METHODS[normalization.method]
        native_normalization.epsilon = normalization.epsilon
        results = await asyncio.to_thread(
            self._native.embed, _embedding_inputs(documents), native_normalization
        )
        return [Embedding(r.id, list(r.embedding), r.dimension, r.token_count) for r in results]

    async def __aenter__(self) -> InferenceEngine:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Ends every request still running (GenerationFailed/SHUTTING_DOWN) and joins the engine thread."""
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._native.shutdown)
        self._fanout.stop()


def _embedding_inputs(documents: Sequence[EmbeddingDocument]) -> list[_core.EmbeddingInput]:
    inputs = []
    for document in documents:
        native_input = _core.EmbeddingInput()
        native_input.id = document.id
        native_input.content = document.content
        inputs.append(native_input)
    return inputs
