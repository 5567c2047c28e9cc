from paddler.agent import InferenceEngine, SamplingConfig
from tests.engine.generation import collect

SYSTEM = (
    "<|im_start|>system\nYou are a patient tutor who explains arithmetic to children "
    "with small, concrete examples about apples and baskets.<|im_end|>\n"
)


def prompt(question: str) -> str:
    return f"{SYSTEM}<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"


async def test_prefix_reuse_reports_cached_tokens_and_keeps_the_output(engine: InferenceEngine) -> None:
    sampling = SamplingConfig(temperature=0.0, max_tokens=24)
    first = await collect(engine, prompt("What is 2 + 3?"), sampling)
    # The same system prompt again: the slot that served it still holds it.
    second = await collect(engine, prompt("What is 4 + 1?"), sampling)
    # The second question again: that slot now holds all of it, and all but
    # its last token (whose logits are needed) is taken from the cache.
    repeat = await collect(engine, prompt("What is 4 + 1?"), sampling)

    shared = len(engine.tokenize(SYSTEM))
    assert first.finished.usage.cached_prompt_tokens < shared
    assert second.finished.usage.cached_prompt_tokens >= shared
    assert repeat.finished.usage.cached_prompt_tokens == repeat.finished.usage.prompt_tokens - 1
    assert repeat.token_ids == second.token_ids
