from paddler.agent import ErrorKind, GbnfGrammar, InferenceEngine, SamplingConfig
from tests.engine.generation import drain


async def test_a_grammar_with_thinking_enabled_is_refused(thinking_engine: InferenceEngine) -> None:
    outcome = await drain(
        thinking_engine.continue_conversation(
            [{"role": "user", "content": "Say x."}],
            SamplingConfig(temperature=0.0, max_tokens=4),
            grammar=GbnfGrammar('root ::= "x"'),
        )
    )

    assert outcome.failed.kind is ErrorKind.GRAMMAR_INCOMPATIBLE_WITH_THINKING
    assert "thinking" in outcome.failed.message
