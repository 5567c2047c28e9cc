"""The body of `generate_embedding_batch`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, Tag, TypeAdapter

from paddler.protocol.strict_model import StrictModel, externally_tagged


class EmbeddingInputDocument(StrictModel):
    id: str
    content: str


class RmsNormParameters(StrictModel):
    epsilon: float = Field(gt=0)


class RmsNorm(StrictModel):
    RmsNorm: RmsNormParameters


EmbeddingNormalizationMethod = Annotated[
    Annotated[Literal["L2"], Tag("L2")]
    | Annotated[Literal["None"], Tag("None")]
    | Annotated[RmsNorm, Tag("RmsNorm")],
    externally_tagged(),
]


class GenerateEmbeddingBatchParams(StrictModel):
    input_batch: list[EmbeddingInputDocument] = Field(min_length=1)
    normalization_method: EmbeddingNormalizationMethod


GENERATE_EMBEDDING_BATCH = TypeAdapter(GenerateEmbeddingBatchParams)
