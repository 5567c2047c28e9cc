import pytest

from paddler.agent import EmbeddingDocument, InferenceEngine, Normalization


async def test_embedding_requests_are_refused_when_embeddings_are_disabled(engine: InferenceEngine) -> None:
    assert not engine.embeddings_enabled

    with pytest.raises(ValueError, match="not enabled"):
        await engine.embed([EmbeddingDocument("d", "text")], Normalization())
