import asyncio

from paddler.agent import InferenceEngine, SamplingConfig, SlotState
from tests.engine.generation import chat_prompt, collect, wait_until


async def test_status_reports_slots_while_generating(engine: InferenceEngine) -> None:
    idle = engine.status()
    task = asyncio.create_task(
        collect(engine, chat_prompt("Describe a cat."), SamplingConfig(max_tokens=200, ignore_eos=True))
    )
    await wait_until(lambda: engine.status().slots_processing > 0)
    busy = engine.status()
    await task

    assert idle.slots_total == 4
    assert idle.slots_processing == 0
    assert busy.slots_processing == 1
    assert [s.state for s in busy.slots].count(SlotState.Idle) == 3
    assert {s.state for s in busy.slots} - {SlotState.Idle} <= {SlotState.Prefilling, SlotState.Generating}
