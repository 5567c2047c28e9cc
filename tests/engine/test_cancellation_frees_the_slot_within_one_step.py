import asyncio

from paddler.agent import InferenceEngine, SamplingConfig, TokenGenerated
from tests.engine.generation import chat_prompt


async def test_cancellation_frees_the_slot_within_one_step(engine: InferenceEngine) -> None:
    endless = SamplingConfig(temperature=0.0, max_tokens=100_000, ignore_eos=True)
    generation = engine.generate(chat_prompt("Write an endless poem."), endless)
    tokens = 0
    async for event in generation:
        assert isinstance(event, TokenGenerated)
        tokens += 1
        if tokens == 3:
            break
    # Leaving the loop closes the generator, which cancels the native request.
    await generation.aclose()
    steps_at_cancel = engine.status().steps

    for _ in range(500):
        status = engine.status()
        if status.slots_processing == 0:
            break
        await asyncio.sleep(0.002)

    assert status.slots_processing == 0
    assert status.steps <= steps_at_cancel + 1
