import asyncio
import itertools
import time

from paddler.agent import InferenceEngine, SamplingConfig, TokenGenerated
from tests.engine.generation import drain
from tests.image_data_urls import image_data_url, image_message


async def test_a_text_stream_keeps_generating_while_another_slots_image_is_encoded(
    slow_image_engine: InferenceEngine,
) -> None:
    engine = slow_image_engine
    token_times: list[float] = []
    streaming = asyncio.Event()

    async def text_stream() -> None:
        sampling = SamplingConfig(temperature=0.0, max_tokens=100_000, ignore_eos=True)
        async for event in engine.generate("Once upon a time", sampling):
            if isinstance(event, TokenGenerated):
                token_times.append(time.perf_counter())
                streaming.set()

    text = asyncio.create_task(text_stream())
    await streaming.wait()
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

    during = [t for t in token_times if submitted <= t < answer_started[0]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(during)]
    # The encoder's seconds are not the text stream's: it goes on, one step at a time.
    assert len(during) >= 5
    assert max(gaps) < (answer_started[0] - submitted) / 2
    outcome = await drain(engine.generate("Hi", SamplingConfig(max_tokens=2)))
    assert outcome.finished.usage.completion_tokens > 0
