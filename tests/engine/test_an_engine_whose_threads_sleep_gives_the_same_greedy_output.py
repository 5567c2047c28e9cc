from paddler.agent import EngineConfig, InferenceEngine, ThreadWait
from tests.engine.generation import GREEDY, chat_prompt, collect
from tests.model_cards import smollm2


async def test_an_engine_whose_threads_sleep_gives_the_same_greedy_output(engine: InferenceEngine) -> None:
    prompt = chat_prompt("Name three colours of the rainbow.")
    sleeping = await InferenceEngine.load(
        str(smollm2()),
        EngineConfig(context_size=512, slots=1, threads=2, thread_wait=ThreadWait.SLEEP, deterministic=True),
    )
    try:
        asleep = await collect(sleeping, prompt, GREEDY)
    finally:
        await sleeping.close()

    spinning = await collect(engine, prompt, GREEDY)
    assert len(asleep.token_ids) > 3
    assert asleep.token_ids == spinning.token_ids
