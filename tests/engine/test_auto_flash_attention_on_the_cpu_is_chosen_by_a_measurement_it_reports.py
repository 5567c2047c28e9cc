import re

from tests.engine.flash_attention_choice import SMALL, flash_attention_summary

MEASURED = re.compile(
    r"flash attention (on|off) on the CPU: a slot's attention estimated at ([0-9.]+) s with it, "
    r"([0-9.]+) s without \(1 slot of 512 tokens, 2 threads\)"
    # An earlier engine of the same shapes in this process (another test's) was measured already.
    r"( \(measured at an earlier load of the same shapes\))?"
)


async def test_auto_flash_attention_on_the_cpu_is_chosen_by_a_measurement_it_reports() -> None:
    summary = await flash_attention_summary(SMALL)

    match = MEASURED.fullmatch(summary)
    assert match is not None, summary
    choice, with_it, without = match.group(1), float(match.group(2)), float(match.group(3))
    assert with_it > 0
    assert without > 0
    # Ties go to flash attention: off only where it measured over 10% slower.
    assert choice == ("on" if with_it < without * 1.1 else "off")
