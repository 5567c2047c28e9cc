"""Per-request sampling parameters, defaulting to the desired state's."""

from __future__ import annotations

from dataclasses import dataclass, field

RANDOM_SEED = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class SamplingConfig:
    temperature: float = 0.8  # <= 0: greedy
    top_k: int = 40  # <= 0: the whole vocabulary
    top_p: float = 0.95
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    penalty_last_n: int = 64
    seed: int = RANDOM_SEED
    max_tokens: int = 512
    stop: tuple[str, ...] = field(default_factory=tuple)
    # For benchmarks: generate exactly max_tokens, never an end-of-generation token.
    ignore_eos: bool = False
