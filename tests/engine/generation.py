"""Helpers that drive one generation to its end and summarize it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from paddler.agent import (
    GenerationEvent,
    GenerationFailed,
    GenerationFinished,
    InferenceEngine,
    SamplingConfig,
    TokenGenerated,
    ToolCallsParsed,
)

GREEDY = SamplingConfig(temperature=0.0, max_tokens=32)


def chat_prompt(user_message: str) -> str:
    """A prompt in SmolLM2's own chat format."""
    return (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        f"<|im_start|>user\n{user_message}<|im_end|>\n<|im_start|>assistant\n"
    )


@dataclass
class Outcome:
    token_ids: list[int]
    text: str
    end: GenerationFinished | GenerationFailed
    tool_calls: ToolCallsParsed | None = None
    # The text of each kind of piece, in order: {"content": "...", "reasoning": "..."}
    text_by_kind: dict[str, str] | None = None

    @property
    def finished(self) -> GenerationFinished:
        assert isinstance(self.end, GenerationFinished), f"generation failed: {self.end}"
        return self.end

    @property
    def failed(self) -> GenerationFailed:
        assert isinstance(self.end, GenerationFailed), f"generation did not fail: {self.end}"
        return self.end


async def collect(
    engine: InferenceEngine, prompt: str | Sequence[int], sampling: SamplingConfig = GREEDY
) -> Outcome:
    return await drain(engine.generate(prompt, sampling))


async def drain(events: AsyncIterator[GenerationEvent]) -> Outcome:
    token_ids: list[int] = []
    pieces: list[str] = []
    by_kind: dict[str, str] = {}
    tool_calls: ToolCallsParsed | None = None
    async for event in events:
        if isinstance(event, TokenGenerated):
            if event.token_id >= 0:
                token_ids.append(event.token_id)
            pieces.append(event.text)
            by_kind[event.kind] = by_kind.get(event.kind, "") + event.text
        elif isinstance(event, ToolCallsParsed):
            tool_calls = event
        else:
            return Outcome(token_ids, "".join(pieces), event, tool_calls, by_kind)
    raise AssertionError("the generation ended without GenerationFinished or GenerationFailed")


async def wait_until(condition: Callable[[], bool], within: float = 10.0, interval: float = 0.002) -> None:
    """Polls native state (it has no awaitable to wait on) until `condition` holds."""
    for _ in range(max(1, int(within / interval))):
        if condition():
            return
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {within} s")
