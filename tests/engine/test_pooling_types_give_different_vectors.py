from paddler.agent import EmbeddingDocument, EngineConfig, InferenceEngine, Normalization, PoolingType
from tests.model_cards import smollm2


async def embed_with(pooling: PoolingType) -> tuple[list[float], int]:
    config = EngineConfig(context_size=256, slots=1, threads=2, enable_embeddings=True, pooling_type=pooling)
    async with await InferenceEngine.load(str(smollm2()), config) as engine:
        [embedding] = await engine.embed(
            [EmbeddingDocument("d", "Pooling decides the vector.")], Normalization()
        )
        return embedding.vector, embedding.dimension


async def test_pooling_types_give_different_vectors() -> None:
    mean, _ = await embed_with(PoolingType.MEAN)
    last, _ = await embed_with(PoolingType.LAST)
    cls, _ = await embed_with(PoolingType.CLS)
    per_token, dimension = await embed_with(PoolingType.NONE)

    assert len(mean) == len(last) == len(cls) == dimension == 576
    assert mean != last
    assert last != cls
    assert mean != cls
    # No pooling: one vector per token, one after another.
    assert len(per_token) % dimension == 0
    assert len(per_token) // dimension > 1
