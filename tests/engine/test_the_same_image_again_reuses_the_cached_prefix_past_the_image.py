from paddler.agent import InferenceEngine, SamplingConfig
from tests.engine.generation import drain
from tests.image_data_urls import image_data_url, image_message
from tests.random_projector import IMAGE_TOKENS

GREEDY = SamplingConfig(temperature=0.0, max_tokens=8)


async def test_the_same_image_again_reuses_the_cached_prefix_past_the_image(
    image_engine: InferenceEngine,
) -> None:
    image = image_data_url(seed=7)
    first_turn = [image_message(image, "Describe this picture.")]
    first = await drain(image_engine.continue_conversation(first_turn, GREEDY))
    second_turn = [
        *first_turn,
        {"role": "assistant", "content": first.text},
        {"role": "user", "content": "And its colours?"},
    ]

    second = await drain(image_engine.continue_conversation(second_turn, GREEDY))

    usage = second.finished.usage
    # The whole first prompt, image included, comes from the slot's cache.
    assert usage.cached_prompt_tokens >= first.finished.usage.prompt_tokens
    assert usage.input_image_tokens == IMAGE_TOKENS
    other_image = [image_message(image_data_url(seed=8), "Describe this picture.")]
    other = await drain(image_engine.continue_conversation(other_image, GREEDY))
    # A different image in the same place is not taken for the cached one.
    assert other.finished.usage.cached_prompt_tokens < first.finished.usage.prompt_tokens - IMAGE_TOKENS
