from paddler.agent import ErrorKind, InferenceEngine, SamplingConfig
from tests.engine.generation import drain

BAD_TOOL = {
    "type": "function",
    "function": {
        "name": "broken",
        "parameters": {"type": "object", "properties": {"x": {"type": "no-such-type"}}},
    },
}


async def test_invalid_tool_schema_is_refused_before_generation(tool_engine: InferenceEngine) -> None:
    outcome = await drain(
        tool_engine.continue_conversation(
            [{"role": "user", "content": "Hi"}], SamplingConfig(max_tokens=4), tools=[BAD_TOOL]
        )
    )

    assert outcome.failed.kind is ErrorKind.TOOL_SCHEMA_INVALID
    assert "broken" in outcome.failed.message
