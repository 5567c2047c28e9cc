"""The agent: the only package that imports the native engine (paddler._core)."""

from paddler._core import BackendDevice, DeviceKind, EngineStatus, SlotState, SlotStatus, backend_devices
from paddler.agent.embedding import Embedding, EmbeddingDocument, Normalization, NormalizationMethod
from paddler.agent.engine_config import EngineConfig, FlashAttention, KvCacheType, PoolingType, ThreadWait
from paddler.agent.generation_event import (
    ErrorKind,
    FinishReason,
    GenerationEvent,
    GenerationFailed,
    GenerationFinished,
    ParsedToolCall,
    TokenGenerated,
    TokenKind,
    ToolCallsParsed,
    Usage,
)
from paddler.agent.grammar import GbnfGrammar, Grammar, JsonSchemaGrammar, ToolChoice
from paddler.agent.inference_engine import (
    ChatTemplateError,
    EmbeddingError,
    EmbeddingInputError,
    InferenceEngine,
    ModelLoadError,
)
from paddler.agent.sampling_config import SamplingConfig

__all__ = [
    "BackendDevice",
    "ChatTemplateError",
    "DeviceKind",
    "Embedding",
    "EmbeddingDocument",
    "EmbeddingError",
    "EmbeddingInputError",
    "EngineConfig",
    "EngineStatus",
    "ErrorKind",
    "FinishReason",
    "FlashAttention",
    "GbnfGrammar",
    "GenerationEvent",
    "GenerationFailed",
    "GenerationFinished",
    "Grammar",
    "InferenceEngine",
    "JsonSchemaGrammar",
    "KvCacheType",
    "ModelLoadError",
    "Normalization",
    "NormalizationMethod",
    "ParsedToolCall",
    "PoolingType",
    "SamplingConfig",
    "SlotState",
    "SlotStatus",
    "ThreadWait",
    "TokenGenerated",
    "TokenKind",
    "ToolCallsParsed",
    "ToolChoice",
    "Usage",
    "backend_devices",
]
