import orjson

from paddler.agent import GbnfGrammar, InferenceEngine, SamplingConfig, TokenKind
from tests.engine.chat_templates import WEATHER_TOOL
from tests.engine.generation import drain

CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "London"}}\n</tool_call>'


async def test_tool_call_in_a_known_format_is_parsed_and_validated(tool_engine: InferenceEngine) -> None:
    # The grammar makes the model write exactly this call, so what is tested
    # is the parsing, not the model's judgement.
    outcome = await drain(
        tool_engine.continue_conversation(
            [{"role": "user", "content": "What is the weather in London?"}],
            SamplingConfig(temperature=0.0, max_tokens=80),
            tools=[WEATHER_TOOL],
            grammar=GbnfGrammar("root ::= " + orjson.dumps(CALL).decode()),
        )
    )

    assert outcome.tool_calls is not None
    [call] = outcome.tool_calls.calls
    assert call.name == "get_weather"
    assert call.arguments == {"city": "London"}
    usage = outcome.finished.usage
    assert usage.tool_call_tokens == usage.completion_tokens
    assert outcome.text_by_kind == {TokenKind.TOOL_CALL: CALL, TokenKind.UNDETERMINABLE: ""} or (
        outcome.text_by_kind == {TokenKind.TOOL_CALL: CALL}
    )
