from tests.engine.flash_attention_choice import SMALL, flash_attention_summary

REUSED = " (measured at an earlier load of the same shapes)"


async def test_a_second_engine_of_the_same_shapes_reuses_the_flash_attention_measurement() -> None:
    first = await flash_attention_summary(SMALL)
    second = await flash_attention_summary(SMALL)

    # The same figures, said to be reused: a model switch does not pay the probe again.
    assert second.endswith(REUSED)
    assert second.removesuffix(REUSED) == first.removesuffix(REUSED)
