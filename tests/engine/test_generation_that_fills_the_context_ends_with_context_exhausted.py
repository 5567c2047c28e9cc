from collections.abc import AsyncIterator

import pytest

from paddler.agent import EngineConfig, ErrorKind, InferenceEngine, SamplingConfig
from tests.engine.generation import collect
from tests.model_cards import smollm2


@pytest.fixture
async def tiny_context_engine() -> AsyncIterator[InferenceEngine]:
    engine = await InferenceEngine.load(str(smollm2()), EngineConfig(context_size=64, slots=2, threads=2))
    yield engine
    await engine.close()


async def test_generation_that_fills_the_context_ends_with_context_exhausted(
    tiny_context_engine: InferenceEngine,
) -> None:
    outcome = await collect(
        tiny_context_engine, "Once upon a time", SamplingConfig(max_tokens=1000, ignore_eos=True)
    )
    prompt_tokens = len(tiny_context_engine.tokenize("Once upon a time"))

    assert outcome.failed.kind is ErrorKind.CONTEXT_EXHAUSTED
    assert len(outcome.token_ids) == 64 - prompt_tokens + 1
    # The other slot and the engine carry on.
    after = await collect(tiny_context_engine, "Hello", SamplingConfig(max_tokens=3))
    assert len(after.token_ids) == 3
