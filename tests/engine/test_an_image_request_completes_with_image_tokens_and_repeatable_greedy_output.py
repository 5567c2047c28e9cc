from paddler.agent import InferenceEngine, SamplingConfig
from tests.engine.generation import drain
from tests.image_data_urls import image_data_url, image_message
from tests.random_projector import IMAGE_TOKENS

GREEDY = SamplingConfig(temperature=0.0, max_tokens=16)


async def test_an_image_request_completes_with_image_tokens_and_repeatable_greedy_output(
    image_engine: InferenceEngine,
) -> None:
    conversation = [image_message(image_data_url(seed=1))]

    first = await drain(image_engine.continue_conversation(conversation, GREEDY))
    again = await drain(image_engine.continue_conversation(conversation, GREEDY))

    usage = first.finished.usage
    assert usage.input_image_tokens == IMAGE_TOKENS
    assert usage.prompt_tokens > IMAGE_TOKENS  # the text around it too
    assert usage.completion_tokens > 0
    assert first.text
    assert again.text == first.text
