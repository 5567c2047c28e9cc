import pytest

from paddler.agent import EmbeddingDocument, EmbeddingError, InferenceEngine, Normalization


async def test_a_document_longer_than_the_embedding_batch_is_refused(
    embedding_engine: InferenceEngine,
) -> None:
    too_long = EmbeddingDocument("long", "word " * 200)

    with pytest.raises(EmbeddingError, match="long"):
        await embedding_engine.embed([too_long], Normalization())
    # The engine still serves afterwards.
    assert await embedding_engine.embed([EmbeddingDocument("ok", "fine")], Normalization())
