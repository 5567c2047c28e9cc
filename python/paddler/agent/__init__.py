"""The agent: the only package that imports the native engine (paddler._core)."""

from paddler._core import EngineStatus, SlotState, SlotStatus
from paddler.agent.engine_config import EngineConfig, FlashAttention, KvCacheType
from paddler.agent.generation_event import (
    ErrorKind,
    FinishReason,
    GenerationEvent,
    GenerationFailed,
    GenerationFinished,
    TokenGenerated,
    Usage,
)
from paddler.agent.inference_engine import InferenceEngine, ModelLoadError
from paddler.agent.sampling_config import SamplingConfig

__all__ = [
    "EngineConfig",
    "EngineStatus",
    "ErrorKind",
    "FinishReason",
    "FlashAttention",
    "GenerationEvent",
    "GenerationFailed",
    "GenerationFinished",
    "InferenceEngine",
    "KvCacheType",
    "ModelLoadError",
    "SamplingConfig",
    "SlotState",
    "SlotStatus",
    "TokenGenerated",
    "Usage",
]
