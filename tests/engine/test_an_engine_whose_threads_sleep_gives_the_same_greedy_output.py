from dataclasses import replace

from paddler.agent import InferenceEngine, ThreadWait
from tests.engine.conftest import SHARED_ENGINE_CONFIG
from tests.engine.generation import GREEDY, chat_prompt, collect
from tests.model_cards import smollm2


async def test_an_engine_whose_threads_sleep_gives_the_same_greedy_output(engine: InferenceEngine) -> None:
    prompt = chat_prompt("Name three colours of the rainbow.")
    # The shared engine's shapes: only how its threads wait differs (a one-slot engine may
    # choose flash attention otherwise, and that changes the rounding).
    sleeping = await InferenceEngine.load(
        str(smollm2()), replace(SHARED_ENGINE_CONFIG, thread_wait=ThreadWait.SLEEP)
    )
    try:
        asleep = await collect(sleeping, prompt, GREEDY)
    finally:
        await sleeping.close()

    spinning = await collect(engine, prompt, GREEDY)
    assert len(asleep.token_ids) > 3
    assert asleep.token_ids == spinning.token_ids
