import asyncio

from paddler.agent import EngineConfig, ErrorKind, InferenceEngine, SamplingConfig
from tests.engine.generation import chat_prompt, collect, wait_until
from tests.model_cards import smollm2


async def test_shutdown_with_requests_in_flight_ends_them_and_joins() -> None:
    engine = await InferenceEngine.load(str(smollm2()), EngineConfig(context_size=512, slots=2, threads=2))
    endless = SamplingConfig(temperature=0.0, max_tokens=100_000, ignore_eos=True)
    # Two run in the slots, two wait for one.
    tasks = [asyncio.create_task(collect(engine, chat_prompt(f"Story {n}"), endless)) for n in range(4)]
    await wait_until(lambda: engine.status().slots_processing == 2)

    await asyncio.wait_for(engine.close(), timeout=30)
    outcomes = await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)

    assert [o.failed.kind for o in outcomes] == [ErrorKind.SHUTTING_DOWN] * 4
    late = await collect(engine, "Hello")
    assert late.failed.kind is ErrorKind.SHUTTING_DOWN
