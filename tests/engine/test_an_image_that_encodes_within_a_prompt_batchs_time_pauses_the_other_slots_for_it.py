import asyncio

from paddler.agent import InferenceEngine, SamplingConfig, TokenGenerated
from tests.engine.generation import drain
from tests.image_data_urls import image_data_url, image_message


async def test_an_image_that_encodes_within_a_prompt_batchs_time_pauses_the_other_slots_for_it(
    slow_image_engine: InferenceEngine,
) -> None:
    engine = slow_image_engine
    # The engine learns how long this projector's encodes take (well under a 512-token batch).
    await drain(
        engine.continue_conversation([image_message(image_data_url(seed=105))], SamplingConfig(max_tokens=1))
    )
    streaming = asyncio.Event()

    async def text_stream() -> None:
        sampling = SamplingConfig(temperature=0.0, max_tokens=100_000, ignore_eos=True)
        async for event in engine.generate("Once upon a time, in a quiet village by the sea,", sampling):
            if isinstance(event, TokenGenerated):
                streaming.set()

    text = asyncio.create_task(text_stream())
    await streaming.wait()
    before = engine.status()
    image = await drain(
        engine.continue_conversation([image_message(image_data_url(seed=106))], SamplingConfig(max_tokens=2))
    )
    after = engine.status()
    text.cancel()
    await asyncio.gather(text, return_exceptions=True)

    assert image.finished.usage.input_image_tokens > 0
    assert image.finished.usage.completion_tokens == 2
    assert after.images_encoded_alone == before.images_encoded_alone + 1
    assert after.images_encoded_beside == before.images_encoded_beside
