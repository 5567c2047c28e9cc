"""What an engine is built with; changing any of it means building a new engine."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class KvCacheType(enum.StrEnum):
    F32 = "f32"
    F16 = "f16"
    BF16 = "bf16"
    Q8_0 = "q8_0"
    Q4_0 = "q4_0"
    Q4_1 = "q4_1"
    Q5_0 = "q5_0"
    Q5_1 = "q5_1"


class PoolingType(enum.StrEnum):
    # The model's own (from its GGUF metadata).
    UNSPECIFIED = "unspecified"
    NONE = "none"
    MEAN = "mean"
    CLS = "cls"
    LAST = "last"
    RANK = "rank"


class ThreadWait(enum.StrEnum):
    # How idle llama.cpp CPU threads wait for the next graph. SPIN is fastest on
    # a machine of its own; SLEEP suits a machine shared with other busy
    # processes, where spinning threads starve each other.
    SPIN = "spin"
    SLEEP = "sleep"


class FlashAttention(enum.StrEnum):
    # On a GPU, llama.cpp decides; on the CPU, on where a quantized V cache
    # needs it, else whichever a short measurement of the model's attention at
    # load finds faster for these slots (csrc/core/flash_attention_probe.hpp).
    AUTO = "auto"
    ENABLED = "enabled"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class EngineConfig:
    # Tokens of context per slot: each slot holds one conversation, as in Paddler.
    context_size: int = 4096
    slots: int = 4
    n_batch: int = 2048
    n_ubatch: int = 512
    n_gpu_layers: int = 0
    # 0: llama.cpp's choice (the number of physical cores).
    threads: int = 0
    threads_batch: int = 0
    thread_wait: ThreadWait = ThreadWait.SPIN
    k_cache_type: KvCacheType = KvCacheType.F16
    v_cache_type: KvCacheType = KvCacheType.F16
    flash_attention: FlashAttention = FlashAttention.AUTO
    use_mmap: bool = True
    # Replaces the model's own chat template. One that does not compile does
    # not stop the engine: conversations then fail with CHAT_TEMPLATE_ERROR.
    chat_template_override: str | None = None
    # Why the chat template (the override, or the model's own) must not be
    # compiled at all: the chat template probe saw it crash or run away.
    # Conversations then fail with CHAT_TEMPLATE_ERROR and this reason.
    chat_template_refusal: str | None = None
    # Embeddings run on a second llama context beside generation.
    enable_embeddings: bool = False
    embedding_batch_size: int = 512
    pooling_type: PoolingType = PoolingType.UNSPECIFIED
    # A vision model's multimodal projector (mmproj GGUF): image_url parts of
    # conversations are then served. Loaded on the model's backend.
    multimodal_projection_path: str | None = None
    # Matrix products whose rounding does not depend on the batch: the same
    # greedy output whether a prompt came from the prefix cache or not, alone or
    # beside other slots (csrc/core/matrix_kernels.hpp). Off: llamafile's faster
    # tinyBLAS for batches, as llama-server runs.
    deterministic: bool = False
