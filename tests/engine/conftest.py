from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from paddler.agent import EngineConfig, InferenceEngine
from tests.model_cards import smollm2

# Small enough to start in a second, large enough for every test here.
SHARED_ENGINE_CONFIG = EngineConfig(context_size=1024, slots=4, n_batch=512, threads=2)


@pytest.fixture(scope="session")
async def engine() -> AsyncIterator[InferenceEngine]:
    """One engine shared by the tests that do not need one of their own."""
    engine = await InferenceEngine.load(str(smollm2()), SHARED_ENGINE_CONFIG)
    yield engine
    await engine.close()
