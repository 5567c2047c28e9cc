from __future__ import annotations

from pathlib import Path

import pytest

from tests.random_projector import write_random_projector


@pytest.fixture(scope="session")
def random_projector(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A multimodal projection for SmolLM2 with random weights, written once per test session."""
    return write_random_projector(tmp_path_factory.mktemp("projector") / "random-mmproj.gguf")
