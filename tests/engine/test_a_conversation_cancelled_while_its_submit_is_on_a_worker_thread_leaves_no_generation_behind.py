"""A conversation is rendered and submitted on a worker thread; cancelling its task meanwhile must
still end the native request once it is submitted, or it generates up to max_tokens for nobody."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from paddler.agent import EngineConfig, InferenceEngine, SamplingConfig
from tests.engine.generation import collect, drain, wait_until
from tests.model_cards import smollm2


class GatedSubmit:
    """The native engine, whose submit waits at a gate on its worker thread."""

    def __init__(self, native: Any) -> None:
        self._native = native
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.submitted = threading.Event()

    def submit(self, request: Any) -> None:
        self.entered.set()
        self.gate.wait(10)
        self._native.submit(request)
        self.submitted.set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._native, name)


async def test_a_conversation_cancelled_while_its_submit_is_on_a_worker_thread_leaves_no_generation_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One slot with room for thousands of tokens: a request left running holds it for many seconds.
    engine = await InferenceEngine.load(str(smollm2()), EngineConfig(context_size=4096, slots=1, threads=2))
    try:
        gated = GatedSubmit(engine._native)
        monkeypatch.setattr(engine, "_native", gated)
        endless = SamplingConfig(temperature=0.0, max_tokens=100_000, ignore_eos=True)
        conversation = [{"role": "user", "content": "Count to a million."}]
        task = asyncio.create_task(drain(engine.continue_conversation(conversation, endless)))
        await asyncio.to_thread(gated.entered.wait, 10)

        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        gated.gate.set()
        await asyncio.to_thread(gated.submitted.wait, 10)

        # The one slot serves the next request at once, and is idle after it.
        async with asyncio.timeout(5):
            outcome = await collect(engine, "Hello", SamplingConfig(temperature=0.0, max_tokens=2))
        assert outcome.finished
        await wait_until(lambda: engine.status().slots_processing == 0, within=1.0)
        assert task.cancelled()
    finally:
        monkeypatch.undo()
        await engine.close()
