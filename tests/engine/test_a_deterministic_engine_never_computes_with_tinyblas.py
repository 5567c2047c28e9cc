import asyncio

from paddler import _core
from paddler.agent import EngineConfig, FlashAttention, InferenceEngine, SamplingConfig
from tests.engine.generation import chat_prompt, collect
from tests.model_cards import smollm2


async def test_a_deterministic_engine_never_computes_with_tinyblas() -> None:
    config = EngineConfig(
        context_size=512, slots=2, threads=2, flash_attention=FlashAttention.DISABLED, deterministic=True
    )
    engine = await InferenceEngine.load(str(smollm2()), config)
    sampling = SamplingConfig(temperature=0.0, max_tokens=16)
    try:
        before = _core.tinyblas_products()
        # A prompt batch, then two slots decoding in one batch: both products of two or more columns.
        outcomes = await asyncio.gather(
            collect(engine, chat_prompt("Name three colours of the rainbow."), sampling),
            collect(engine, chat_prompt("Count to five."), sampling),
        )
        used = _core.tinyblas_products() - before
    finally:
        await engine.close()

    assert all(outcome.finished.usage.completion_tokens > 0 for outcome in outcomes)
    assert used == 0
