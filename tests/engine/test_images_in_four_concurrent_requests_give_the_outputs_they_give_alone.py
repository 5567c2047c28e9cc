import asyncio

from paddler.agent import InferenceEngine, SamplingConfig
from tests.engine.generation import drain
from tests.image_data_urls import image_data_url, image_message
from tests.random_projector import IMAGE_TOKENS

GREEDY = SamplingConfig(temperature=0.0, max_tokens=12)


async def test_images_in_four_concurrent_requests_give_the_outputs_they_give_alone(
    image_engine: InferenceEngine,
) -> None:
    conversations = [
        [image_message(image_data_url(seed=20 + n), f"Picture {n}: what is it?")] for n in range(4)
    ]
    alone = [await drain(image_engine.continue_conversation(c, GREEDY)) for c in conversations]

    together = await asyncio.gather(
        *(drain(image_engine.continue_conversation(c, GREEDY)) for c in conversations)
    )

    assert [outcome.text for outcome in together] == [outcome.text for outcome in alone]
    assert all(outcome.finished.usage.input_image_tokens == IMAGE_TOKENS for outcome in together)
