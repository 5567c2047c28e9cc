"""What a generation yields: tokens, then exactly one of finished or failed.

Failures are values, not exceptions: a prompt too long or an engine that shuts
down are expected outcomes the caller branches on.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class FinishReason(enum.StrEnum):
    END_OF_GENERATION = "end_of_generation"
    STOP_STRING = "stop_string"
    MAX_TOKENS = "max_tokens"
    CANCELLED = "cancelled"


class ErrorKind(enum.StrEnum):
    INVALID_REQUEST = "invalid_request"
    PROMPT_TOO_LONG = "prompt_too_long"
    CONTEXT_EXHAUSTED = "context_exhausted"
    KV_CACHE_FULL = "kv_cache_full"
    DECODE_FAILED = "decode_failed"
    SHUTTING_DOWN = "shutting_down"


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    cached_prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True, slots=True)
class TokenGenerated:
    # -1 when the text is held-back text released at the end, not a new token.
    token_id: int
    text: str


@dataclass(frozen=True, slots=True)
class GenerationFinished:
    reason: FinishReason
    usage: Usage


@dataclass(frozen=True, slots=True)
class GenerationFailed:
    kind: ErrorKind
    message: str
    usage: Usage


GenerationEvent = TokenGenerated | GenerationFinished | GenerationFailed
