from paddler.agent import GbnfGrammar, InferenceEngine, SamplingConfig, TokenKind
from tests.engine.chat_templates import WEATHER_TOOL
from tests.engine.generation import drain


async def test_answer_without_a_tool_call_finishes_with_content(tool_engine: InferenceEngine) -> None:
    outcome = await drain(
        tool_engine.continue_conversation(
            [{"role": "user", "content": "Say hello."}],
            SamplingConfig(temperature=0.0, max_tokens=20),
            tools=[WEATHER_TOOL],
            grammar=GbnfGrammar('root ::= "Hello there."'),
        )
    )

    assert outcome.tool_calls is None
    assert outcome.text_by_kind == {TokenKind.CONTENT: "Hello there."}
    assert outcome.finished.usage.content_tokens == outcome.finished.usage.completion_tokens
