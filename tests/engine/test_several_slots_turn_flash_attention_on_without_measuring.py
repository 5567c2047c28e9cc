from dataclasses import replace

from tests.engine.flash_attention_choice import SMALL, flash_attention_summary


async def test_several_slots_turn_flash_attention_on_without_measuring() -> None:
    summary = await flash_attention_summary(replace(SMALL, slots=4))

    assert summary == (
        "flash attention on on the CPU: 4 slots decode together, where it measured faster in whole-model runs"
    )
