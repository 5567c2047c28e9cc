import math

import pytest

from paddler.agent import SamplingConfig


def test_defaults_are_accepted() -> None:
    assert SamplingConfig().max_tokens == 512


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("temperature", math.nan, "temperature"),
        ("top_p", 1.5, "top_p"),
        ("min_p", -0.1, "min_p"),
        ("frequency_penalty", math.inf, "penalties"),
        ("penalty_last_n", -2, "penalty_last_n"),
        ("seed", -1, "seed"),
        ("seed", 2**32, "seed"),
        ("max_tokens", -1, "max_tokens"),
    ],
)
def test_out_of_range_values_are_refused_naming_the_field(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SamplingConfig(**{field: value})  # type: ignore[arg-type]
