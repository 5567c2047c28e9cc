"""Loads an engine only to read how it chose flash attention."""

from __future__ import annotations

from paddler.agent import EngineConfig, InferenceEngine
from tests.model_cards import smollm2

# One slot: several skip the measurement (flash attention on), see choose_flash_attention.
SMALL = EngineConfig(context_size=512, slots=1, threads=2)


async def flash_attention_summary(config: EngineConfig) -> str:
    engine = await InferenceEngine.load(str(smollm2()), config)
    try:
        return engine.flash_attention_summary
    finally:
        await engine.close()
