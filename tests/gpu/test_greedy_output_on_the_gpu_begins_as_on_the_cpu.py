from paddler.agent import EngineConfig, InferenceEngine, SamplingConfig
from tests.engine.generation import chat_prompt, collect
from tests.model_cards import smollm2

FIRST_TOKENS = SamplingConfig(temperature=0.0, max_tokens=8)


async def greedy_tokens(n_gpu_layers: int) -> list[int]:
    engine = await InferenceEngine.load(
        str(smollm2()), EngineConfig(context_size=512, slots=1, n_gpu_layers=n_gpu_layers)
    )
    try:
        outcome = await collect(engine, chat_prompt("Name three colours of the rainbow."), FIRST_TOKENS)
    finally:
        await engine.close()
    return outcome.token_ids


async def test_greedy_output_on_the_gpu_begins_as_on_the_cpu() -> None:
    # Other kernels sum in another order, so long greedy runs may part ways;
    # the first tokens of a clear answer must not.
    assert await greedy_tokens(-1) == await greedy_tokens(0)
