from paddler.agent import EngineConfig, FinishReason, InferenceEngine
from tests.engine.generation import GREEDY, chat_prompt, collect
from tests.gpu.conftest import the_gpu
from tests.model_cards import smollm2


async def test_every_layer_offloaded_takes_gpu_memory_and_generates() -> None:
    free_before = the_gpu().memory_free
    engine = await InferenceEngine.load(
        str(smollm2()), EngineConfig(context_size=1024, slots=4, n_gpu_layers=-1)
    )
    try:
        taken = free_before - the_gpu().memory_free
        outcome = await collect(engine, chat_prompt("What is the capital of France?"), GREEDY)
    finally:
        await engine.close()

    # The weights alone are ~98 MB; the KV cache and compute buffers come on top.
    assert taken > 80 * 1024 * 1024, f"only {taken} bytes of GPU memory were taken"
    assert outcome.finished.reason in (FinishReason.END_OF_GENERATION, FinishReason.MAX_TOKENS)
    assert "Paris" in outcome.text
