import asyncio

from paddler.agent import InferenceEngine, SamplingConfig
from tests.engine.generation import chat_prompt, collect

PROMPTS = [
    chat_prompt("What is the capital of France?"),
    chat_prompt("Write a haiku about the sea."),
    chat_prompt("List two prime numbers."),
    chat_prompt("Why is the sky blue? Answer briefly."),
]
SAMPLING = SamplingConfig(temperature=0.0, max_tokens=48, ignore_eos=True)


async def test_greedy_output_alone_equals_output_among_four_concurrent(engine: InferenceEngine) -> None:
    alone = [await collect(engine, prompt, SAMPLING) for prompt in PROMPTS]
    together = await asyncio.gather(*(collect(engine, prompt, SAMPLING) for prompt in PROMPTS))

    for solo, batched in zip(alone, together, strict=True):
        assert len(solo.token_ids) == 48
        assert solo.token_ids == batched.token_ids
