from paddler.agent import ErrorKind, InferenceEngine, SamplingConfig
from tests.engine.generation import drain


async def test_an_unknown_content_part_type_is_refused_by_name_on_a_multimodal_engine(
    image_engine: InferenceEngine,
) -> None:
    conversation = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Listen to this."},
                {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
            ],
        }
    ]

    outcome = await drain(image_engine.continue_conversation(conversation, SamplingConfig(max_tokens=4)))

    assert outcome.failed.kind is ErrorKind.INVALID_REQUEST
    assert '"input_audio"' in outcome.failed.message
