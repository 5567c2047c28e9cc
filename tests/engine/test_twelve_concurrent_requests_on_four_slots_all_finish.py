import asyncio

from paddler.agent import FinishReason, InferenceEngine, SamplingConfig
from tests.engine.generation import chat_prompt, collect


async def test_twelve_concurrent_requests_on_four_slots_all_finish(engine: InferenceEngine) -> None:
    sampling = SamplingConfig(temperature=0.7, seed=7, max_tokens=24, ignore_eos=True)
    outcomes = await asyncio.gather(
        *(collect(engine, chat_prompt(f"Count from {n} to {n + 5}."), sampling) for n in range(12))
    )

    assert [o.finished.reason for o in outcomes] == [FinishReason.MAX_TOKENS] * 12
    assert all(o.finished.usage.completion_tokens == 24 for o in outcomes)
    assert all(len(o.token_ids) == 24 for o in outcomes)
    assert engine.status().slots_processing == 0
