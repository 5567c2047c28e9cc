from paddler.agent import InferenceEngine, SamplingConfig
from tests.engine.generation import drain

GREEDY = SamplingConfig(temperature=0.0, max_tokens=24)


async def test_a_text_conversation_on_a_multimodal_engine_gives_the_text_engines_output(
    engine: InferenceEngine, image_engine: InferenceEngine
) -> None:
    conversation = [{"role": "user", "content": [{"type": "text", "text": "Name three rivers of Europe."}]}]

    text_engine = await drain(engine.continue_conversation(conversation, GREEDY))
    multimodal_engine = await drain(image_engine.continue_conversation(conversation, GREEDY))

    assert multimodal_engine.text == text_engine.text
    assert multimodal_engine.finished.usage.input_image_tokens == 0
