import asyncio
import time

from paddler.agent import InferenceEngine, SamplingConfig, SlotState
from tests.engine.generation import drain, wait_until
from tests.image_data_urls import image_data_url, image_message


async def test_cancelling_a_request_while_its_image_is_encoded_frees_the_slot(
    slow_image_engine: InferenceEngine,
) -> None:
    engine = slow_image_engine
    conversation = [image_message(image_data_url(seed=101))]
    started = time.perf_counter()
    encoded = await drain(engine.continue_conversation(conversation, SamplingConfig(max_tokens=1)))
    encode_and_answer_s = time.perf_counter() - started
    assert encoded.finished.usage.input_image_tokens > 0

    request = asyncio.create_task(
        drain(
            engine.continue_conversation(
                [image_message(image_data_url(seed=102))], SamplingConfig(max_tokens=8)
            )
        )
    )
    await wait_until(lambda: any(slot.state is SlotState.Prefilling for slot in engine.status().slots))
    request.cancel()
    cancelled_at = time.perf_counter()
    await wait_until(lambda: all(slot.state is SlotState.Idle for slot in engine.status().slots))
    freed_after_s = time.perf_counter() - cancelled_at

    # Freed at the engine's next step, long before the encoder is done with the image.
    assert freed_after_s < encode_and_answer_s / 4
    text = await drain(
        engine.continue_conversation([{"role": "user", "content": "Hi"}], SamplingConfig(max_tokens=4))
    )
    assert text.finished.usage.completion_tokens > 0
