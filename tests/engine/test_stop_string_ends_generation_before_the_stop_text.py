from paddler.agent import FinishReason, InferenceEngine, SamplingConfig
from tests.engine.generation import chat_prompt, collect

PROMPT = chat_prompt("Count from one to ten in words, separated by commas.")


async def test_stop_string_ends_generation_before_the_stop_text(engine: InferenceEngine) -> None:
    unstopped = await collect(engine, PROMPT, SamplingConfig(temperature=0.0, max_tokens=40))
    # A stop string taken from the middle of the greedy answer, spanning
    # several tokens, so it can only be seen once they are put together.
    pieces = [engine.detokenize([token]) for token in unstopped.token_ids]
    stop = "".join(pieces[4:7])
    expected = unstopped.text[: unstopped.text.index(stop)]

    stopped = await collect(engine, PROMPT, SamplingConfig(temperature=0.0, max_tokens=40, stop=(stop,)))

    assert len(stop) >= 3
    assert stopped.finished.reason is FinishReason.STOP_STRING
    assert stopped.text == expected
    assert stop not in stopped.text
