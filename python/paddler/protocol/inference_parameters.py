"""How every agent builds its engine and samples, set once for the cluster."""

from __future__ import annotations

import enum
import math

from pydantic import model_validator

from paddler.protocol.strict_model import StrictModel


class KvCacheDtype(enum.StrEnum):
    F32 = "F32"
    F16 = "F16"
    BF16 = "BF16"
    Q8_0 = "Q8_0"
    Q4_0 = "Q4_0"
    Q4_1 = "Q4_1"
    IQ4_NL = "IQ4_NL"
    Q5_0 = "Q5_0"
    Q5_1 = "Q5_1"


class PoolingType(enum.StrEnum):
    UNSPECIFIED = "Unspecified"
    NONE = "None"
    MEAN = "Mean"
    CLS = "Cls"
    LAST = "Last"
    RANK = "Rank"


class InferenceParameters(StrictModel):
    n_batch: int = 2048
    context_size: int = 8192
    embedding_batch_size: int = 256
    enable_embeddings: bool = False
    image_resize_to_fit: int = 1024
    k_cache_dtype: KvCacheDtype = KvCacheDtype.Q8_0
    v_cache_dtype: KvCacheDtype = KvCacheDtype.Q8_0
    min_p: float = 0.05
    n_gpu_layers: int = 0
    penalty_frequency: float = 0.0
    penalty_last_n: int = -1
    penalty_presence: float = 0.8
    penalty_repeat: float = 1.1
    pooling_type: PoolingType = PoolingType.LAST
    temperature: float = 0.8
    top_k: int = 80
    top_p: float = 0.8

    @model_validator(mode="after")
    def _within_ranges(self) -> InferenceParameters:
        # Checked here so a bad value is a 400 at PUT time, not an engine that
        # every agent fails to build later.
        problems = [
            message
            for failed, message in (
                (self.n_batch < 1, "`n_batch` must be at least 1"),
                (self.context_size < 1, "`context_size` must be at least 1"),
                (self.embedding_batch_size < 1, "`embedding_batch_size` must be at least 1"),
                (self.image_resize_to_fit < 1, "`image_resize_to_fit` must be at least 1"),
                (self.n_gpu_layers < -1, "`n_gpu_layers` must be -1 (all) or more"),
                (self.penalty_last_n < -1, "`penalty_last_n` must be -1, 0 or positive"),
                (self.top_k < 0, "`top_k` must not be negative"),
                (not 0.0 <= self.top_p <= 1.0, "`top_p` must be between 0 and 1"),
                (not 0.0 <= self.min_p <= 1.0, "`min_p` must be between 0 and 1"),
                (
                    not (math.isfinite(self.temperature) and self.temperature >= 0.0),
                    "`temperature` must be a finite number >= 0",
                ),
                (
                    not all(
                        math.isfinite(value)
                        for value in (self.penalty_frequency, self.penalty_presence, self.penalty_repeat)
                    ),
                    "penalties must be finite numbers",
                ),
            )
            if failed
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self
