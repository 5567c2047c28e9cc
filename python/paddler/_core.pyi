"""
paddler's native inference engine (llama.cpp, slots, continuous batching)
"""

from collections.abc import Sequence
import enum


class ModelLoadError(RuntimeError):
    pass

class KvCacheType(enum.Enum):
    F32 = 0

    F16 = 1

    BF16 = 2

    Q8_0 = 3

    Q4_0 = 4

    Q4_1 = 5

    Q5_0 = 6

    Q5_1 = 7

class FlashAttention(enum.Enum):
    Auto = 0

    Enabled = 1

    Disabled = 2

class EventKind(enum.Enum):
    Token = 0

    Done = 1

    Error = 2

class FinishReason(enum.Enum):
    EndOfGeneration = 1

    StopString = 2

    MaxTokens = 3

    Cancelled = 4

class ErrorKind(enum.Enum):
    InvalidRequest = 1

    PromptTooLong = 2

    ContextExhausted = 3

    KvCacheFull = 4

    DecodeFailed = 5

    ShuttingDown = 6

class SlotState(enum.Enum):
    Idle = 0

    Prefilling = 1

    Generating = 2

class EngineParams:
    def __init__(self) -> None: ...

    @property
    def context_size(self) -> int: ...

    @context_size.setter
    def context_size(self, arg: int, /) -> None: ...

    @property
    def slots(self) -> int: ...

    @slots.setter
    def slots(self, arg: int, /) -> None: ...

    @property
    def n_batch(self) -> int: ...

    @n_batch.setter
    def n_batch(self, arg: int, /) -> None: ...

    @property
    def n_ubatch(self) -> int: ...

    @n_ubatch.setter
    def n_ubatch(self, arg: int, /) -> None: ...

    @property
    def n_gpu_layers(self) -> int: ...

    @n_gpu_layers.setter
    def n_gpu_layers(self, arg: int, /) -> None: ...

    @property
    def threads(self) -> int: ...

    @threads.setter
    def threads(self, arg: int, /) -> None: ...

    @property
    def threads_batch(self) -> int: ...

    @threads_batch.setter
    def threads_batch(self, arg: int, /) -> None: ...

    @property
    def k_cache_type(self) -> KvCacheType: ...

    @k_cache_type.setter
    def k_cache_type(self, arg: KvCacheType, /) -> None: ...

    @property
    def v_cache_type(self) -> KvCacheType: ...

    @v_cache_type.setter
    def v_cache_type(self, arg: KvCacheType, /) -> None: ...

    @property
    def flash_attention(self) -> FlashAttention: ...

    @flash_attention.setter
    def flash_attention(self, arg: FlashAttention, /) -> None: ...

    @property
    def use_mmap(self) -> bool: ...

    @use_mmap.setter
    def use_mmap(self, arg: bool, /) -> None: ...

class SamplingParams:
    def __init__(self) -> None: ...

    @property
    def temperature(self) -> float: ...

    @temperature.setter
    def temperature(self, arg: float, /) -> None: ...

    @property
    def top_k(self) -> int: ...

    @top_k.setter
    def top_k(self, arg: int, /) -> None: ...

    @property
    def top_p(self) -> float: ...

    @top_p.setter
    def top_p(self, arg: float, /) -> None: ...

    @property
    def min_p(self) -> float: ...

    @min_p.setter
    def min_p(self, arg: float, /) -> None: ...

    @property
    def repeat_penalty(self) -> float: ...

    @repeat_penalty.setter
    def repeat_penalty(self, arg: float, /) -> None: ...

    @property
    def presence_penalty(self) -> float: ...

    @presence_penalty.setter
    def presence_penalty(self, arg: float, /) -> None: ...

    @property
    def frequency_penalty(self) -> float: ...

    @frequency_penalty.setter
    def frequency_penalty(self, arg: float, /) -> None: ...

    @property
    def penalty_last_n(self) -> int: ...

    @penalty_last_n.setter
    def penalty_last_n(self, arg: int, /) -> None: ...

    @property
    def seed(self) -> int: ...

    @seed.setter
    def seed(self, arg: int, /) -> None: ...

    @property
    def max_tokens(self) -> int: ...

    @max_tokens.setter
    def max_tokens(self, arg: int, /) -> None: ...

    @property
    def stop(self) -> list[str]: ...

    @stop.setter
    def stop(self, arg: Sequence[str], /) -> None: ...

    @property
    def ignore_eos(self) -> bool: ...

    @ignore_eos.setter
    def ignore_eos(self, arg: bool, /) -> None: ...

class Request:
    def __init__(self) -> None: ...

    @property
    def id(self) -> int: ...

    @id.setter
    def id(self, arg: int, /) -> None: ...

    @property
    def prompt_text(self) -> str: ...

    @prompt_text.setter
    def prompt_text(self, arg: str, /) -> None: ...

    @property
    def prompt_tokens(self) -> list[int]: ...

    @prompt_tokens.setter
    def prompt_tokens(self, arg: Sequence[int], /) -> None: ...

    @property
    def add_special(self) -> bool: ...

    @add_special.setter
    def add_special(self, arg: bool, /) -> None: ...

    @property
    def sampling(self) -> SamplingParams: ...

    @sampling.setter
    def sampling(self, arg: SamplingParams, /) -> None: ...

class Usage:
    @property
    def prompt_tokens(self) -> int: ...

    @property
    def cached_prompt_tokens(self) -> int: ...

    @property
    def completion_tokens(self) -> int: ...

class Event:
    @property
    def request_id(self) -> int: ...

    @property
    def kind(self) -> EventKind: ...

    @property
    def token(self) -> int: ...

    @property
    def text(self) -> str: ...

    @property
    def finish_reason(self) -> FinishReason: ...

    @property
    def usage(self) -> Usage: ...

    @property
    def error_kind(self) -> ErrorKind: ...

    @property
    def message(self) -> str: ...

class SlotStatus:
    @property
    def index(self) -> int: ...

    @property
    def state(self) -> SlotState: ...

    @property
    def request_id(self) -> int | None: ...

    @property
    def cached_tokens(self) -> int: ...

class EngineStatus:
    @property
    def slots_total(self) -> int: ...

    @property
    def slots_processing(self) -> int: ...

    @property
    def requests_waiting(self) -> int: ...

    @property
    def steps(self) -> int: ...

    @property
    def slots(self) -> list[SlotStatus]: ...

class Engine:
    def __init__(self, model_path: str, params: EngineParams) -> None: ...

    def submit(self, request: Request) -> None: ...

    def cancel(self, request_id: int) -> None: ...

    def drain_events(self, max_events: int) -> list[Event]: ...

    def event_fd(self) -> int: ...

    def status(self) -> EngineStatus: ...

    def tokenize(self, text: str, add_special: bool = False, parse_special: bool = True) -> list[int]: ...

    def detokenize(self, tokens: Sequence[int]) -> str: ...

    def metadata(self) -> dict[str, str]: ...

    def chat_template(self) -> str: ...

    @property
    def slots(self) -> int: ...

    @property
    def slot_context_size(self) -> int: ...

    @property
    def vocab_size(self) -> int: ...

    @property
    def embedding_size(self) -> int: ...

    def shutdown(self) -> None: ...
