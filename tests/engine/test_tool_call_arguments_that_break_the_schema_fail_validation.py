import orjson

from paddler.agent import ErrorKind, GbnfGrammar, InferenceEngine, SamplingConfig
from tests.engine.chat_templates import WEATHER_TOOL
from tests.engine.generation import drain

CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"town": 5}}\n</tool_call>'


async def test_tool_call_arguments_that_break_the_schema_fail_validation(
    tool_engine: InferenceEngine,
) -> None:
    outcome = await drain(
        tool_engine.continue_conversation(
            [{"role": "user", "content": "What is the weather in London?"}],
            SamplingConfig(temperature=0.0, max_tokens=80),
            tools=[WEATHER_TOOL],
            grammar=GbnfGrammar("root ::= " + orjson.dumps(CALL).decode()),
        )
    )

    failed = outcome.failed
    assert failed.kind is ErrorKind.TOOL_CALL_VALIDATION_FAILED
    assert any("'city' is a required property" in detail for detail in failed.details)
    assert any("town" in detail for detail in failed.details)
    assert failed.usage.completion_tokens > 0
