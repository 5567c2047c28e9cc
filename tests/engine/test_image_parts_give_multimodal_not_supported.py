from paddler.agent import ErrorKind, InferenceEngine, SamplingConfig
from tests.engine.generation import drain


async def test_image_parts_give_multimodal_not_supported(engine: InferenceEngine) -> None:
    conversation = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ],
        }
    ]

    outcome = await drain(engine.continue_conversation(conversation, SamplingConfig(max_tokens=4)))

    assert outcome.failed.kind is ErrorKind.MULTIMODAL_NOT_SUPPORTED
    assert "image_url" in outcome.failed.message
