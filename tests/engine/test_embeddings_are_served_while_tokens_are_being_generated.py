import asyncio

from paddler.agent import EmbeddingDocument, InferenceEngine, Normalization, SamplingConfig
from tests.engine.generation import chat_prompt, collect, wait_until


async def test_embeddings_are_served_while_tokens_are_being_generated(
    embedding_engine: InferenceEngine,
) -> None:
    generation = asyncio.create_task(
        collect(
            embedding_engine, chat_prompt("Tell a story."), SamplingConfig(max_tokens=60, ignore_eos=True)
        )
    )
    await wait_until(lambda: embedding_engine.status().slots_processing > 0)

    embeddings = await embedding_engine.embed([EmbeddingDocument("x", "Side by side.")], Normalization())
    still_generating = embedding_engine.status().slots_processing > 0
    outcome = await generation

    assert len(embeddings) == 1
    assert still_generating
    assert outcome.finished.usage.completion_tokens == 60
