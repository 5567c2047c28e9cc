import pytest

from paddler.agent import EmbeddingDocument, InferenceEngine, Normalization
from tests.engine.embeddings import cosine


async def test_identical_documents_get_identical_embeddings_and_different_ones_differ(
    embedding_engine: InferenceEngine,
) -> None:
    documents = [
        EmbeddingDocument("first", "A quiet river at dawn."),
        EmbeddingDocument("same", "A quiet river at dawn."),
        EmbeddingDocument("other", "Quarterly revenue grew by four percent."),
    ]

    first, same, other = await embedding_engine.embed(documents, Normalization())

    assert same.vector == pytest.approx(first.vector, abs=1e-5)
    assert cosine(first.vector, other.vector) < 0.999
    assert max(abs(x - y) for x, y in zip(first.vector, other.vector, strict=True)) > 1e-3
