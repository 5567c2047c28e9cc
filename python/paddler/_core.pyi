"""
paddler's native inference engine (llama.cpp, slots, continuous batching)
"""

from collections.abc import Sequence
import enum


class ModelLoadError(RuntimeError):
    pass

class EmbeddingError(ValueError):
    pass

class EmbeddingInputError(EmbeddingError):
    pass

class ChatTemplateError(ValueError):
    pass

class ToolChoice(enum.Enum):
    Auto = 0

    Required = 1

    NoTools = 2

class PoolingType(enum.Enum):
    Unspecified = 0

    NoPooling = 1

    Mean = 2

    Cls = 3

    Last = 4

    Rank = 5

class GrammarKind(enum.Enum):
    NoGrammar = 0

    Gbnf = 1

    JsonSchema = 2

class TokenKind(enum.Enum):
    Content = 0

    Reasoning = 1

    ToolCall = 2

    Undeterminable = 3

class NormalizationMethod(enum.Enum):
    NoNormalization = 0

    L2 = 1

    RmsNorm = 2

class Normalization:
    def __init__(self) -> None: ...

    @property
    def method(self) -> NormalizationMethod: ...

    @method.setter
    def method(self, arg: NormalizationMethod, /) -> None: ...

    @property
    def epsilon(self) -> float: ...

    @epsilon.setter
    def epsilon(self, arg: float, /) -> None: ...

class EmbeddingInput:
    def __init__(self) -> None: ...

    @property
    def id(self) -> str: ...

    @id.setter
    def id(self, arg: str, /) -> None: ...

    @property
    def content(self) -> str: ...

    @content.setter
    def content(self, arg: str, /) -> None: ...

class EmbeddingResult:
    @property
    def id(self) -> str: ...

    @property
    def embedding(self) -> list[float]: ...

    @property
    def dimension(self) -> int: ...

    @property
    def token_count(self) -> int: ...

class ToolCall:
    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def arguments(self) -> str: ...

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

    ToolCalls = 1

    Done = 2

    Error = 3

class FinishReason(enum.Enum):
    NotFinished = 0

    EndOfGeneration = 1

    StopString = 2

    MaxTokens = 3

    Cancelled = 4

class ErrorKind(enum.Enum):
    NoError = 0

    InvalidRequest = 1

    PromptTooLong = 2

    ContextExhausted = 3

    KvCacheFull = 4

    DecodeFailed = 5

    ShuttingDown = 6

    ChatTemplateError = 7

    GrammarSyntaxError = 8

    GrammarIncompatibleWithThinking = 9

    GrammarRejectedModelOutput = 10

    SamplerError = 11

    MultimodalNotSupported = 12

    ToolCallParseFailed = 13

    UnrecognizedToolCallFormat = 14

    ImageDecodingFailed = 15

    ImageExceedsBatchSize = 16

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
    def thread_poll(self) -> int: ...

    @thread_poll.setter
    def thread_poll(self, arg: int, /) -> None: ...

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

    @property
    def chat_template_override(self) -> str: ...

    @chat_template_override.setter
    def chat_template_override(self, arg: str, /) -> None: ...

    @property
    def chat_template_refusal(self) -> str: ...

    @chat_template_refusal.setter
    def chat_template_refusal(self, arg: str, /) -> None: ...

    @property
    def enable_embeddings(self) -> bool: ...

    @enable_embeddings.setter
    def enable_embeddings(self, arg: bool, /) -> None: ...

    @property
    def embedding_batch_size(self) -> int: ...

    @embedding_batch_size.setter
    def embedding_batch_size(self, arg: int, /) -> None: ...

    @property
    def pooling_type(self) -> PoolingType: ...

    @pooling_type.setter
    def pooling_type(self, arg: PoolingType, /) -> None: ...

    @property
    def multimodal_projection_path(self) -> str: ...

    @multimodal_projection_path.setter
    def multimodal_projection_path(self, arg: str, /) -> None: ...

    @property
    def deterministic(self) -> bool: ...

    @deterministic.setter
    def deterministic(self, arg: bool, /) -> None: ...

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

class ImageInput:
    def __init__(self, width: int, height: int, pixels: bytes, id: str) -> None: ...

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    @property
    def id(self) -> str: ...

class Request:
    def __init__(self) -> None: ...

    @property
    def id(self) -> int: ...

    @id.setter
    def id(self, arg: int, /) -> None: ...

    @property
    def conversation_json(self) -> str: ...

    @conversation_json.setter
    def conversation_json(self, arg: str, /) -> None: ...

    @property
    def tools_json(self) -> str: ...

    @tools_json.setter
    def tools_json(self, arg: str, /) -> None: ...

    @property
    def tool_choice(self) -> ToolChoice: ...

    @tool_choice.setter
    def tool_choice(self, arg: ToolChoice, /) -> None: ...

    @property
    def add_generation_prompt(self) -> bool: ...

    @add_generation_prompt.setter
    def add_generation_prompt(self, arg: bool, /) -> None: ...

    @property
    def enable_thinking(self) -> bool: ...

    @enable_thinking.setter
    def enable_thinking(self, arg: bool, /) -> None: ...

    @property
    def grammar_kind(self) -> GrammarKind: ...

    @grammar_kind.setter
    def grammar_kind(self, arg: GrammarKind, /) -> None: ...

    @property
    def grammar(self) -> str: ...

    @grammar.setter
    def grammar(self, arg: str, /) -> None: ...

    @property
    def grammar_root(self) -> str: ...

    @grammar_root.setter
    def grammar_root(self, arg: str, /) -> None: ...

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

    @property
    def images(self) -> list[ImageInput]: ...

    @images.setter
    def images(self, arg: Sequence[ImageInput], /) -> None: ...

class Usage:
    @property
    def prompt_tokens(self) -> int: ...

    @property
    def cached_prompt_tokens(self) -> int: ...

    @property
    def completion_tokens(self) -> int: ...

    @property
    def content_tokens(self) -> int: ...

    @property
    def reasoning_tokens(self) -> int: ...

    @property
    def tool_call_tokens(self) -> int: ...

    @property
    def undeterminable_tokens(self) -> int: ...

    @property
    def input_image_tokens(self) -> int: ...

class Event:
    @property
    def request_id(self) -> int: ...

    @property
    def kind(self) -> EventKind: ...

    @property
    def token(self) -> int: ...

    @property
    def token_kind(self) -> TokenKind: ...

    @property
    def tool_calls(self) -> list[ToolCall]: ...

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

    @property
    def oversized_image_tokens(self) -> int: ...

    @property
    def oversized_image_batch_limit(self) -> int: ...

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
    def images_encoded_alone(self) -> int: ...

    @property
    def images_encoded_beside(self) -> int: ...

    @property
    def slots(self) -> list[SlotStatus]: ...

class DeviceKind(enum.Enum):
    Cpu = 0

    Gpu = 1

    IntegratedGpu = 2

    Accelerator = 3

    Meta = 4

class BackendDevice:
    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def kind(self) -> DeviceKind: ...

    @property
    def memory_free(self) -> int: ...

    @property
    def memory_total(self) -> int: ...

def tinyblas_built() -> bool: ...

def deterministic_kernels_available() -> bool: ...

def tinyblas_products() -> int: ...

def backend_devices() -> list[BackendDevice]: ...

class CpuVariantChoice:
    @property
    def name(self) -> str: ...

    @property
    def score(self) -> int: ...

    @property
    def refused(self) -> str: ...

    @property
    def chosen(self) -> bool: ...

def cpu_variant_choices() -> list[CpuVariantChoice]: ...

def amx_usable() -> bool: ...

class ChatTemplateProbeReport:
    @property
    def compile_error(self) -> str: ...

    @property
    def conversations(self) -> int: ...

    @property
    def failures(self) -> list[str]: ...

CHAT_TEMPLATE_PROBE_OUT_OF_MEMORY_EXIT: int = 86

def probe_chat_template(model_path: str, chat_template_override: str) -> ChatTemplateProbeReport: ...

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

    def chat_template_error(self) -> str: ...

    def render_conversation(self, request: Request) -> str: ...

    def embed(self, inputs: Sequence[EmbeddingInput], normalization: Normalization) -> list[EmbeddingResult]: ...

    def embedding_token_counts(self, inputs: Sequence[EmbeddingInput]) -> list[int]: ...

    @property
    def embedding_sequences_per_batch(self) -> int: ...

    @property
    def embeddings_enabled(self) -> bool: ...

    @property
    def multimodal(self) -> bool: ...

    @property
    def pooling_type(self) -> PoolingType: ...

    @property
    def slots(self) -> int: ...

    @property
    def flash_attention_summary(self) -> str: ...

    @property
    def slot_context_size(self) -> int: ...

    @property
    def vocab_size(self) -> int: ...

    @property
    def embedding_size(self) -> int: ...

    def shutdown(self) -> None: ...
