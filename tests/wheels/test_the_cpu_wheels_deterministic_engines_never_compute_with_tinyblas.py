import json

from tests.model_cards import smollm2
from tests.wheels.conftest import WheelVenv, needs_wheel


@needs_wheel("cpu")
def test_the_cpu_wheels_deterministic_engines_never_compute_with_tinyblas(cpu_wheel: WheelVenv) -> None:
    # tinyBLAS lives in the CPU variant module the wheel loads; our switch must reach it there.
    counted = json.loads(cpu_wheel.probe("tinyblas", str(smollm2())))

    assert counted["available"] is True
    assert counted["default"] > 0
    assert counted["deterministic"] == 0
