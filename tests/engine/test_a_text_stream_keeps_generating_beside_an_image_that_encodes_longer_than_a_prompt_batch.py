import asyncio
import itertools
import time

from paddler.agent import InferenceEngine, SamplingConfig, TokenGenerated
from tests.engine.generation import drain
from tests.image_data_urls import image_data_url, image_message

# More than the 8 tokens a step needs to count towards the time of a prompt batch.
LONG_PROMPT = "Once upon a time, in a quiet village by the sea, there lived an old fisherman who"


async def test_a_text_stream_keeps_generating_beside_an_image_that_encodes_longer_than_a_prompt_batch(
    slow_image_engine_with_small_batches: InferenceEngine,
) -> None:
    engine = slow_image_engine_with_small_batches
    # The engine learns how long this projector's encodes take.
    first = await drain(
        engine.continue_conversation([image_message(image_data_url(seed=104))], SamplingConfig(max_tokens=1))
    )
    assert first.finished.usage.input_image_tokens > 0
    token_times: list[float] = []
    streaming = asyncio.Event()

    async def text_stream() -> None:
        sampling = SamplingConfig(temperature=0.0, max_tokens=100_000, ignore_eos=True)
        async for event in engine.generate(LONG_PROMPT, sampling):
            if isinstance(event, TokenGenerated):
                token_times.append(time.perf_counter())
                streaming.set()

    text = asyncio.create_task(text_stream())
    await streaming.wait()
    beside_before = engine.status().images_encoded_beside
    submitted = time.perf_counter()
    answer_started: list[float] = []

    async def image_request() -> None:
        async for event in engine.continue_conversation(
            [image_message(image_data_url(seed=103))], SamplingConfig(max_tokens=2)
        ):
            if isinstance(event, TokenGenerated) and not answer_started:
                answer_started.append(time.perf_counter())

    await image_request()
    text.cancel()
    await asyncio.gather(text, return_exceptions=True)

    assert engine.status().images_encoded_beside == beside_before + 1
    during = [t for t in token_times if submitted <= t < answer_started[0]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(during)]
    # The encoder's seconds are not the text stream's: it goes on, one step at a time.
    assert len(during) >= 5
    assert max(gaps) < (answer_started[0] - submitted) / 2
    outcome = await drain(engine.generate("Hi", SamplingConfig(max_tokens=2)))
    assert outcome.finished.usage.completion_tokens > 0
