"""Embedding inputs, outputs and how vectors are normalized."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class NormalizationMethod(enum.StrEnum):
    NONE = "none"
    L2 = "l2"
    RMS_NORM = "rms_norm"


@dataclass(frozen=True, slots=True)
class Normalization:
    method: NormalizationMethod = NormalizationMethod.L2
    epsilon: float = 1e-6  # RMS_NORM only


@dataclass(frozen=True, slots=True)
class EmbeddingDocument:
    id: str
    content: str


@dataclass(frozen=True, slots=True)
class Embedding:
    document_id: str
    # One vector; with pooling NONE, the vectors of every token one after the
    # other, `dimension` floats each.
    vector: list[float]
    dimension: int
    # The document's tokens, as the embedding context saw them.
    token_count: int
