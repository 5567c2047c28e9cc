from paddler.agent import FinishReason, InferenceEngine, SamplingConfig
from tests.engine.generation import chat_prompt, collect

PROMPT = chat_prompt("Count from one to ten in words, separated by commas.")


async def test_stop_string_ends_generation_before_the_stop_text(engine: InferenceEngine) -> None:
    unstopped = await collect(engine, PROMPT, SamplingConfig(temperature=0.0, max_tokens=40))
    # Stop on a word the unconstrained answer is known to contain, mid-way.
    assert "four" in unstopped.text
    expected = unstopped.text[: unstopped.text.index("four")]

    stopped = await collect(engine, PROMPT, SamplingConfig(temperature=0.0, max_tokens=40, stop=("four",)))

    assert stopped.finished.reason is FinishReason.STOP_STRING
    assert stopped.text == expected
    assert "four" not in stopped.text
