import pytest

from paddler import _core
from paddler.agent import EngineConfig, FlashAttention, InferenceEngine
from tests.engine.generation import GREEDY, chat_prompt, collect
from tests.model_cards import smollm2

pytestmark = pytest.mark.skipif(not _core.tinyblas_built(), reason="this build has no tinyBLAS")


async def test_a_default_engine_computes_prompt_batches_with_tinyblas() -> None:
    # Flash attention off: the attention scores are matrix products too, in
    # F16, a type tinyBLAS takes on every x86-64 CPU it is built for.
    config = EngineConfig(context_size=512, slots=2, threads=2, flash_attention=FlashAttention.DISABLED)
    engine = await InferenceEngine.load(str(smollm2()), config)
    try:
        before = _core.tinyblas_products()
        outcome = await collect(engine, chat_prompt("Name three colours of the rainbow."), GREEDY)
        used = _core.tinyblas_products() - before
    finally:
        await engine.close()

    assert outcome.finished.usage.completion_tokens > 0
    assert used > 0
