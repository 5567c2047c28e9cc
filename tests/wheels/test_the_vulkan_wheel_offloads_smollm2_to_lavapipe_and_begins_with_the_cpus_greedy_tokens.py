import json
import os
from pathlib import Path

import pytest

from tests.model_cards import smollm2
from tests.wheels.conftest import PROBE, WheelVenv, needs_wheel

# Mesa's lavapipe: a Vulkan device that runs on the CPU (Debian: mesa-vulkan-drivers).
LAVAPIPE = Path("/usr/share/vulkan/icd.d/lvp_icd.x86_64.json")


@needs_wheel("vulkan")
# .ci/run installs it: under CI a missing lavapipe fails the test instead.
@pytest.mark.skipif(
    not LAVAPIPE.exists() and os.environ.get("CI") != "true",
    reason="lavapipe is not installed (Debian: mesa-vulkan-drivers)",
)
def test_the_vulkan_wheel_offloads_smollm2_to_lavapipe_and_begins_with_the_cpus_greedy_tokens(
    vulkan_wheel: WheelVenv,
) -> None:
    model = str(smollm2())
    # ggml's Vulkan backend skips CPU-type devices unless they are named; only lavapipe's driver.
    # Its performance logger prints the timings of the graph operations the device ran: the
    # witness that the model's matrix products ran there (lavapipe's memory reports no usage).
    run = vulkan_wheel.run(
        str(PROBE),
        *("greedy", model, "-1"),
        timeout=900,
        GGML_VK_VISIBLE_DEVICES="0",
        VK_ICD_FILENAMES=str(LAVAPIPE),
        GGML_VK_PERF_LOGGER="1",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    offloaded = json.loads(run.stdout.strip().splitlines()[-1])
    on_the_cpu = json.loads(vulkan_wheel.probe("greedy", model, "0", VK_ICD_FILENAMES=str(LAVAPIPE)))

    vulkan = [device for device in offloaded["devices"] if device["name"].startswith("Vulkan")]
    assert vulkan, offloaded["devices"]
    assert "llvmpipe" in vulkan[0]["description"]
    assert not [device for device in on_the_cpu["devices"] if device["name"].startswith("Vulkan")]
    assert "Vulkan Timings:" in run.stderr
    assert "MUL_MAT" in run.stderr
    assert len(offloaded["tokens"]) >= 8
    assert offloaded["tokens"][:8] == on_the_cpu["tokens"][:8]
