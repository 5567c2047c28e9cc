import asyncio

from paddler.agent import InferenceEngine, SamplingConfig
from tests.engine.generation import chat_prompt, collect, wait_until


async def test_cancelling_the_awaiting_task_cancels_the_native_request(engine: InferenceEngine) -> None:
    endless = SamplingConfig(temperature=0.0, max_tokens=100_000, ignore_eos=True)
    task = asyncio.create_task(collect(engine, chat_prompt("Recite the alphabet forever."), endless))
    await wait_until(lambda: engine.status().slots_processing > 0)

    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    for _ in range(500):
        if engine.status().slots_processing == 0:
            break
        await asyncio.sleep(0.002)
    assert task.cancelled()
    assert engine.status().slots_processing == 0
