from paddler.agent import InferenceEngine
from tests.engine.generation import GREEDY, chat_prompt, collect


async def test_token_id_prompt_gives_the_same_output_as_its_text(engine: InferenceEngine) -> None:
    text = chat_prompt("What colour is grass?")
    tokens = engine.tokenize(text)

    from_text = await collect(engine, text, GREEDY)
    from_tokens = await collect(engine, tokens, GREEDY)

    assert from_tokens.token_ids == from_text.token_ids
    assert from_tokens.finished.usage.prompt_tokens == len(tokens)
