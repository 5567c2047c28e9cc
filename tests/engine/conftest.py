from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from paddler.agent import EngineConfig, InferenceEngine, PoolingType
from tests.engine.chat_templates import HERMES_TOOLS, THINKING
from tests.model_cards import smollm2
from tests.random_projector import write_random_projector

# Small enough to start in a second, large enough for every test here.
# Deterministic: tests compare greedy outputs across prefix reuse and batch
# neighbours, which is what that setting promises (the default's tinyBLAS
# rounds by batch, as llama-server's does).
SHARED_ENGINE_CONFIG = EngineConfig(context_size=1024, slots=4, n_batch=512, threads=2, deterministic=True)


@pytest.fixture(scope="session")
async def engine() -> AsyncIterator[InferenceEngine]:
    """One engine shared by the tests that do not need one of their own."""
    engine = await InferenceEngine.load(str(smollm2()), SHARED_ENGINE_CONFIG)
    yield engine
    await engine.close()


@pytest.fixture(scope="session")
async def thinking_engine() -> AsyncIterator[InferenceEngine]:
    """SmolLM2 with a template that opens a <think> block in its generation prompt."""
    engine = await InferenceEngine.load(
        str(smollm2()), EngineConfig(context_size=512, slots=2, threads=2, chat_template_override=THINKING)
    )
    yield engine
    await engine.close()


@pytest.fixture(scope="session")
async def tool_engine() -> AsyncIterator[InferenceEngine]:
    """SmolLM2 with a Hermes-style tool-calling template."""
    engine = await InferenceEngine.load(
        str(smollm2()),
        EngineConfig(context_size=1024, slots=2, threads=2, chat_template_override=HERMES_TOOLS),
    )
    yield engine
    await engine.close()


@pytest.fixture(scope="session")
async def embedding_engine() -> AsyncIterator[InferenceEngine]:
    """SmolLM2 with embeddings on (mean pooling), batches of 64 tokens so chunking shows."""
    engine = await InferenceEngine.load(
        str(smollm2()),
        EngineConfig(
            context_size=512,
            slots=2,
            threads=2,
            enable_embeddings=True,
            embedding_batch_size=64,
            pooling_type=PoolingType.MEAN,
        ),
    )
    yield engine
    await engine.close()


@pytest.fixture(scope="session")
async def image_engine(random_projector: Path) -> AsyncIterator[InferenceEngine]:
    """SmolLM2 with the random multimodal projection: 64 tokens an image, 4 slots."""
    engine = await InferenceEngine.load(
        str(smollm2()),
        EngineConfig(
            context_size=1024,
            slots=4,
            n_batch=512,
            threads=2,
            multimodal_projection_path=str(random_projector),
            # Its tests compare outputs across prefix reuse, neighbours and the text engine.
            deterministic=True,
        ),
    )
    yield engine
    await engine.close()


@pytest.fixture(scope="session")
def slow_projector(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A projector whose encoder takes a good part of a second on a CPU (a ViT over 1024 patches)
    for 16 image tokens that decode in a moment: what happens while an image is encoded shows."""
    return write_random_projector(
        tmp_path_factory.mktemp("slow-projector") / "slow-mmproj.gguf",
        image_size=448,
        patch_size=14,
        vision_embedding=384,
        vision_feed_forward=1536,
        vision_blocks=4,
        pooled_by=8,
    )


@pytest.fixture(scope="session")
async def slow_image_engine(slow_projector: Path) -> AsyncIterator[InferenceEngine]:
    """SmolLM2 with the slow projector, 2 slots, prompt batches of 512 tokens (which take longer
    than an encode: the engine pauses decoding for each image)."""
    engine = await InferenceEngine.load(
        str(smollm2()),
        EngineConfig(
            context_size=1024, slots=2, n_batch=512, threads=2, multimodal_projection_path=str(slow_projector)
        ),
    )
    yield engine
    await engine.close()


@pytest.fixture(scope="session")
async def slow_image_engine_with_small_batches(slow_projector: Path) -> AsyncIterator[InferenceEngine]:
    """The slow projector with prompt batches of 32 tokens, which take far less than an encode: once
    the engine has seen one, its images are encoded beside decoding."""
    engine = await InferenceEngine.load(
        str(smollm2()),
        EngineConfig(
            context_size=1024, slots=2, n_batch=32, threads=2, multimodal_projection_path=str(slow_projector)
        ),
    )
    yield engine
    await engine.close()
