from paddler.agent import InferenceEngine
from tests.image_data_urls import image_data_url, image_message


async def test_a_conversation_with_an_image_renders_with_a_marker_where_the_image_is(
    image_engine: InferenceEngine,
) -> None:
    prompt = await image_engine.render_conversation([image_message(image_data_url(seed=1), "Describe it.")])

    # mtmd replaces the marker with the image's embeddings; the pixels never reach the template.
    assert prompt.count("<__paddler_image_") == 1
    assert prompt.index("Describe it.") < prompt.index("<__paddler_image_")
    assert "base64" not in prompt
