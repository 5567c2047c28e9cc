import math

import pytest

from paddler.agent import EmbeddingDocument, InferenceEngine, Normalization, NormalizationMethod


async def test_rms_norm_gives_unit_root_mean_square(embedding_engine: InferenceEngine) -> None:
    [embedding] = await embedding_engine.embed(
        [EmbeddingDocument("d", "Normalize me.")], Normalization(NormalizationMethod.RMS_NORM, epsilon=1e-6)
    )
    [raw] = await embedding_engine.embed(
        [EmbeddingDocument("d", "Normalize me.")], Normalization(NormalizationMethod.NONE)
    )

    rms = math.sqrt(sum(x * x for x in embedding.vector) / len(embedding.vector))
    assert rms == pytest.approx(1.0, abs=1e-4)
    assert math.sqrt(sum(x * x for x in raw.vector)) != pytest.approx(1.0, abs=1e-3)
