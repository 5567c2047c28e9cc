import orjson

from paddler.agent import ErrorKind, GbnfGrammar, InferenceEngine, SamplingConfig
from tests.engine.chat_templates import WEATHER_TOOL
from tests.engine.generation import drain

BROKEN = '<tool_call>\n{"name": "get_weather", "arguments": {"city": \n</tool_call>'


async def test_malformed_tool_call_gives_tool_call_parse_failed(tool_engine: InferenceEngine) -> None:
    outcome = await drain(
        tool_engine.continue_conversation(
            [{"role": "user", "content": "What is the weather in London?"}],
            SamplingConfig(temperature=0.0, max_tokens=80),
            tools=[WEATHER_TOOL],
            grammar=GbnfGrammar("root ::= " + orjson.dumps(BROKEN).decode()),
        )
    )

    assert outcome.failed.kind in (ErrorKind.TOOL_CALL_PARSE_FAILED, ErrorKind.UNRECOGNIZED_TOOL_CALL_FORMAT)
    assert outcome.failed.message
