from paddler.agent import ErrorKind, GbnfGrammar, InferenceEngine, SamplingConfig
from tests.engine.generation import chat_prompt, drain


async def test_invalid_gbnf_gives_grammar_syntax_error(engine: InferenceEngine) -> None:
    outcome = await drain(
        engine.generate(
            chat_prompt("Hi"), SamplingConfig(max_tokens=4), grammar=GbnfGrammar('root ::= "unterminated')
        )
    )
    served = await drain(engine.generate(chat_prompt("Hi"), SamplingConfig(temperature=0.0, max_tokens=2)))

    assert outcome.failed.kind is ErrorKind.GRAMMAR_SYNTAX_ERROR
    assert outcome.failed.message
    assert served.finished.usage.completion_tokens == 2
