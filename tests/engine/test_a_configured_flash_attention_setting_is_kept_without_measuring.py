from dataclasses import replace

from paddler.agent import FlashAttention
from tests.engine.flash_attention_choice import SMALL, flash_attention_summary


async def test_a_configured_flash_attention_setting_is_kept_without_measuring() -> None:
    enabled = await flash_attention_summary(replace(SMALL, flash_attention=FlashAttention.ENABLED))
    disabled = await flash_attention_summary(replace(SMALL, flash_attention=FlashAttention.DISABLED))

    assert enabled == "flash attention on, as configured"
    assert disabled == "flash attention off, as configured"
