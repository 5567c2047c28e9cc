from paddler.agent import InferenceEngine, SamplingConfig
from tests.engine.generation import drain
from tests.image_data_urls import image_data_url, image_message

GREEDY = SamplingConfig(temperature=0.0, max_tokens=16)


async def test_two_different_images_give_different_outputs(image_engine: InferenceEngine) -> None:
    first = await drain(image_engine.continue_conversation([image_message(image_data_url(seed=1))], GREEDY))
    second = await drain(image_engine.continue_conversation([image_message(image_data_url(seed=2))], GREEDY))

    assert first.text != second.text
