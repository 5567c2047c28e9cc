"""Tests that need a GPU build (-DGGML_CUDA=ON, Vulkan or Metal) on a machine with a GPU.

Every test here carries the `gpu` marker, which the default run deselects
(pyproject's addopts); run them with `pytest -m gpu tests/gpu`.
"""

from __future__ import annotations

import pytest

from paddler.agent import BackendDevice, DeviceKind, backend_devices

# The integration tests' cluster of real processes, for the GPU agent test.
from tests.integration.conftest import cluster  # noqa: F401


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/gpu/" in item.nodeid:
            item.add_marker(pytest.mark.gpu)


def the_gpu() -> BackendDevice:
    """The first GPU llama.cpp sees; fails the test with a message when there is none."""
    gpus = [device for device in backend_devices() if device.kind == DeviceKind.Gpu]
    assert gpus, f"no GPU among the backend devices: {[device.name for device in backend_devices()]}"
    return gpus[0]
