"""Submits racing with a shutdown: a long prompt is tokenized on its worker thread after the
submit has checked that the engine is running, while the engine thread ends everything it holds.
Each request still ends with exactly one final event."""

from __future__ import annotations

import asyncio

from paddler.agent import (
    EngineConfig,
    ErrorKind,
    GenerationFailed,
    GenerationFinished,
    InferenceEngine,
    SamplingConfig,
)
from tests.engine.generation import drain
from tests.model_cards import smollm2

ROUNDS = 5
# Fewer than the default executor's workers, so the shutdown's thread starts while they all run.
SUBMITS_PER_ROUND = 5
# Long enough to be submitted from a worker thread and to take a while to tokenize.
LONG_PROMPT = "The quick brown fox jumps over the lazy dog. " * 500
# One slot with room for the long prompt; no tokens to generate, so the engine thread is idle
# and reaches its final drain at once.
CONFIG = EngineConfig(context_size=8192, slots=1, threads=1)
NOTHING = SamplingConfig(temperature=0.0, max_tokens=0)


async def test_every_request_submitted_while_the_engine_shuts_down_gets_a_final_event() -> None:
    for _ in range(ROUNDS):
        engine = await InferenceEngine.load(str(smollm2()), CONFIG)
        generations = [
            asyncio.create_task(drain(engine.generate(LONG_PROMPT, NOTHING)))
            for _ in range(SUBMITS_PER_ROUND)
        ]
        await asyncio.sleep(0)  # every generation is on its worker thread now
        await engine.close()

        async with asyncio.timeout(10):
            outcomes = await asyncio.gather(*generations)
        for outcome in outcomes:
            end = outcome.end
            assert isinstance(end, GenerationFinished) or (
                isinstance(end, GenerationFailed) and end.kind is ErrorKind.SHUTTING_DOWN
            ), end
