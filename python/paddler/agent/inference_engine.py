"""The native engine behind an asyncio API.

    engine = await InferenceEngine.load(model_path, EngineConfig(slots=4))
    async for event in engine.generate("Hello", SamplingConfig(max_tokens=16)):
        ...
    await engine.close()

Abandoning a generation (breaking out of the loop, CancelledError, an
exception in the caller) cancels the native request: the slot is free again
at the engine's next step.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncGenerator, Sequence
from typing import Final

from paddler import _core
from paddler.agent.engine_config import EngineConfig, FlashAttention, KvCacheType
from paddler.agent.event_fanout import EventFanout
from paddler.agent.generation_event import (
    ErrorKind,
    FinishReason,
    GenerationEvent,
    GenerationFailed,
    GenerationFinished,
    TokenGenerated,
    Usage,
)
from paddler.agent.sampling_config import SamplingConfig

ModelLoadError = _core.ModelLoadError

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


def _native_params(config: EngineConfig) -> _core.EngineParams:
    params = _core.EngineParams()
    params.context_size = config.context_size
    params.slots = config.slots
    params.n_batch = config.n_batch
    params.n_ubatch = config.n_ubatch
    params.n_gpu_layers = config.n_gpu_layers
    params.threads = config.threads
    params.threads_batch = config.threads_batch
    params.k_cache_type = _KV_CACHE_TYPES[config.k_cache_type]
    params.v_cache_type = _KV_CACHE_TYPES[config.v_cache_type]
    params.flash_attention = _FLASH_ATTENTION[config.flash_attention]
    params.use_mmap = config.use_mmap
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
        native = await asyncio.to_thread(_core.Engine, model_path, _native_params(config))
        return cls(native, asyncio.get_running_loop())

    @property
    def slots(self) -> int:
        return self._native.slots

    @property
    def slot_context_size(self) -> int:
        return self._native.slot_context_size

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
        add_special: bool = False,
    ) -> AsyncGenerator[GenerationEvent, None]:
        """Streams the tokens of one request, then one GenerationFinished or GenerationFailed.

        `prompt` is raw text (special tokens in it are parsed, as in a rendered
        chat template) or token ids.
        """
        if self._closed:
            yield GenerationFailed(ErrorKind.SHUTTING_DOWN, "the engine is closed", Usage(0, 0, 0))
            return
        request = _core.Request()
        request.id = next(self._request_ids)
        if isinstance(prompt, str):
            request.prompt_text = prompt
        else:
            request.prompt_tokens = list(prompt)
        request.add_special = add_special
        request.sampling = _native_sampling(sampling)

        mailbox = self._fanout.open(request.id)
        ended = False
        try:
            if isinstance(prompt, str) and len(prompt) > _LONG_PROMPT_CHARS:
                await asyncio.to_thread(self._native.submit, request)
            else:
                self._native.submit(request)
            while True:
                event = await mailbox.get()
                if event.kind == _core.EventKind.Token:
                    yield TokenGenerated(event.token, event.text)
                    continue
                ended = True
                if event.kind == _core.EventKind.Done:
                    if event.text:
                        yield TokenGenerated(-1, event.text)
                    yield GenerationFinished(_FINISH_REASONS[event.finish_reason], _usage(event.usage))
                else:
                    yield GenerationFailed(_ERROR_KINDS[event.error_kind], event.message, _usage(event.usage))
                return
        finally:
            if not ended:
                # Cancelled, abandoned, or the caller raised: never leave the
                # native request running with nobody to read it.
                self._native.cancel(request.id)
            self._fanout.close(request.id)

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
