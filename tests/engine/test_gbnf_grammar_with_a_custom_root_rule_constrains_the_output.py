from paddler.agent import GbnfGrammar, InferenceEngine, SamplingConfig
from tests.engine.generation import chat_prompt, drain

GRAMMAR = 'answer ::= ("yes" | "no") "."'


async def test_gbnf_grammar_with_a_custom_root_rule_constrains_the_output(engine: InferenceEngine) -> None:
    outcome = await drain(
        engine.generate(
            chat_prompt("Is the sky blue?"),
            SamplingConfig(temperature=0.9, seed=3, max_tokens=10),
            grammar=GbnfGrammar(GRAMMAR, root="answer"),
        )
    )

    assert outcome.text in ("yes.", "no.")
