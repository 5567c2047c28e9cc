import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from paddler.agent import FlashAttention, InferenceEngine, SamplingConfig
from tests.engine.conftest import SHARED_ENGINE_CONFIG
from tests.engine.generation import chat_prompt, collect
from tests.model_cards import smollm2

# Auto picks either on the CPU from a measurement (flash_attention_probe.hpp),
# so what users rely on must hold both ways.
SAMPLING = SamplingConfig(temperature=0.0, max_tokens=32, ignore_eos=True)


@pytest.fixture(params=[FlashAttention.ENABLED, FlashAttention.DISABLED], ids=["on", "off"])
async def engine_with(request: pytest.FixtureRequest) -> AsyncIterator[InferenceEngine]:
    config = replace(SHARED_ENGINE_CONFIG, flash_attention=request.param)
    engine = await InferenceEngine.load(str(smollm2()), config)
    yield engine
    await engine.close()


async def test_greedy_output_survives_prefix_reuse_and_concurrency_with_flash_attention_on_and_off(
    engine_with: InferenceEngine,
) -> None:
    prompts = [chat_prompt(question) for question in ("What is 2 + 3?", "Name a river.", "Count to five.")]
    alone = [await collect(engine_with, prompt, SAMPLING) for prompt in prompts]
    # Each again: part of it (at least the shared system prompt) now comes from a slot's cache.
    again = [await collect(engine_with, prompt, SAMPLING) for prompt in prompts]
    together = await asyncio.gather(*(collect(engine_with, prompt, SAMPLING) for prompt in prompts))

    for first, cached, concurrent in zip(alone, again, together, strict=True):
        assert cached.finished.usage.cached_prompt_tokens > 0
        assert cached.token_ids == first.token_ids
        assert concurrent.token_ids == first.token_ids
