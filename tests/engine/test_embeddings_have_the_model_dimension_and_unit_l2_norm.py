import pytest

from paddler.agent import EmbeddingDocument, InferenceEngine, Normalization, NormalizationMethod
from tests.engine.embeddings import l2_norm


async def test_embeddings_have_the_model_dimension_and_unit_l2_norm(
    embedding_engine: InferenceEngine,
) -> None:
    documents = [
        EmbeddingDocument("a", "The cat sat on the mat."),
        EmbeddingDocument("b", "Stock markets fell."),
    ]

    embeddings = await embedding_engine.embed(documents, Normalization(NormalizationMethod.L2))

    assert [e.document_id for e in embeddings] == ["a", "b"]
    for embedding in embeddings:
        assert embedding.dimension == 576  # SmolLM2-135M's embedding width
        assert len(embedding.vector) == 576
        assert l2_norm(embedding.vector) == pytest.approx(1.0, abs=1e-5)
