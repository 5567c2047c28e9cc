from paddler.agent import FinishReason, InferenceEngine
from tests.engine.generation import GREEDY, chat_prompt, collect


async def test_greedy_output_is_identical_run_to_run(engine: InferenceEngine) -> None:
    prompt = chat_prompt("Name three colours of the rainbow.")
    first = await collect(engine, prompt, GREEDY)
    second = await collect(engine, prompt, GREEDY)

    assert first.finished.reason in (FinishReason.END_OF_GENERATION, FinishReason.MAX_TOKENS)
    assert len(first.token_ids) > 3
    assert first.token_ids == second.token_ids
    assert first.text == second.text
