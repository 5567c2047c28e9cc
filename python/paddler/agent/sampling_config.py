"""Per-request sampling parameters, defaulting to the desired state's."""

from __future__ import annotations

import math
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

    def __post_init__(self) -> None:
        problems = [
            message
            for failed, message in (
                (not math.isfinite(self.temperature), "temperature must be a finite number"),
                (not 0.0 <= self.top_p <= 1.0, "top_p must be between 0 and 1"),
                (not 0.0 <= self.min_p <= 1.0, "min_p must be between 0 and 1"),
                (
                    not all(
                        math.isfinite(v)
                        for v in (self.repeat_penalty, self.presence_penalty, self.frequency_penalty)
                    ),
                    "penalties must be finite numbers",
                ),
                (self.penalty_last_n < -1, "penalty_last_n must be -1 (whole context), 0 (off) or positive"),
                (not 0 <= self.seed <= RANDOM_SEED, f"seed must be between 0 and {RANDOM_SEED}"),
                (self.max_tokens < 0, "max_tokens must not be negative"),
                (any(not isinstance(s, str) for s in self.stop), "stop must be a sequence of strings"),
            )
            if failed
        ]
        if problems:
            raise ValueError("; ".join(problems))
