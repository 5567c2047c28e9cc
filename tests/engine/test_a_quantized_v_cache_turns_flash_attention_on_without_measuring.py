from dataclasses import replace

from paddler.agent import KvCacheType
from tests.engine.flash_attention_choice import SMALL, flash_attention_summary


async def test_a_quantized_v_cache_turns_flash_attention_on_without_measuring() -> None:
    summary = await flash_attention_summary(replace(SMALL, v_cache_type=KvCacheType.Q8_0))

    assert summary == "flash attention on: a quantized V cache requires it"
