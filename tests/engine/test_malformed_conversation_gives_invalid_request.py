import pytest

from paddler.agent import ErrorKind, InferenceEngine, SamplingConfig
from tests.engine.generation import drain


@pytest.mark.parametrize(
    "conversation",
    [
        pytest.param([], id="empty"),
        pytest.param([{"content": "no role"}], id="missing-role"),
        pytest.param([{"role": "user", "content": 42}], id="content-not-text"),
        pytest.param(["not a message"], id="not-an-object"),
    ],
)
async def test_malformed_conversation_gives_invalid_request(
    engine: InferenceEngine, conversation: list[object]
) -> None:
    outcome = await drain(engine.continue_conversation(conversation, SamplingConfig(max_tokens=4)))  # type: ignore[arg-type]

    assert outcome.failed.kind is ErrorKind.INVALID_REQUEST
    assert outcome.failed.message
