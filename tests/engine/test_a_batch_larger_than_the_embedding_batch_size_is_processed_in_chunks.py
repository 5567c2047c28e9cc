import pytest

from paddler.agent import EmbeddingDocument, InferenceEngine, Normalization


async def test_a_batch_larger_than_the_embedding_batch_size_is_processed_in_chunks(
    embedding_engine: InferenceEngine,
) -> None:
    # About 12 tokens each, 20 documents: several batches of at most 64 tokens.
    documents = [
        EmbeddingDocument(str(i), f"Document number {i} talks about topic {i * 7}.") for i in range(20)
    ]

    together = await embedding_engine.embed(documents, Normalization())
    alone = [(await embedding_engine.embed([document], Normalization()))[0] for document in documents[:3]]

    assert [e.document_id for e in together] == [str(i) for i in range(20)]
    for single, batched in zip(alone, together[:3], strict=True):
        assert batched.vector == pytest.approx(single.vector, abs=1e-4)
