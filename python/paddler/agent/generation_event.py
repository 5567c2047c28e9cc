"""What a generation yields: tokens, then exactly one of finished or failed.

Failures are values, not exceptions: a prompt too long, a grammar with a
syntax error or an engine that shuts down are expected outcomes the caller
branches on.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


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
    CHAT_TEMPLATE_ERROR = "chat_template_error"
    GRAMMAR_SYNTAX_ERROR = "grammar_syntax_error"
    GRAMMAR_INCOMPATIBLE_WITH_THINKING = "grammar_incompatible_with_thinking"
    GRAMMAR_REJECTED_MODEL_OUTPUT = "grammar_rejected_model_output"
    SAMPLER_ERROR = "sampler_error"
    MULTIMODAL_NOT_SUPPORTED = "multimodal_not_supported"
    TOOL_SCHEMA_INVALID = "tool_schema_invalid"
    TOOL_CALL_PARSE_FAILED = "tool_call_parse_failed"
    TOOL_CALL_VALIDATION_FAILED = "tool_call_validation_failed"
    # The model wrote tool-call text the chat format's parser could not read;
    # the message holds that raw text.
    UNRECOGNIZED_TOOL_CALL_FORMAT = "unrecognized_tool_call_format"
    # An image that cannot be decoded or encoded: not a data: URL, bad
    # base64, not an image, past a limit (the message names it).
    IMAGE_DECODING_FAILED = "image_decoding_failed"
    # An image takes more tokens than one batch holds (GenerationFailed.oversized_image).
    IMAGE_EXCEEDS_BATCH_SIZE = "image_exceeds_batch_size"


class TokenKind(enum.StrEnum):
    CONTENT = "content"
    REASONING = "reasoning"
    TOOL_CALL = "tool_call"
    # Text the chat format's parser consumed without saying what it is
    # (thinking or tool-call markers, say); usually empty.
    UNDETERMINABLE = "undeterminable"


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    cached_prompt_tokens: int
    completion_tokens: int
    content_tokens: int = 0
    reasoning_tokens: int = 0
    tool_call_tokens: int = 0
    undeterminable_tokens: int = 0
    # Of prompt_tokens, those that images take.
    input_image_tokens: int = 0


NO_USAGE = Usage(0, 0, 0)


@dataclass(frozen=True, slots=True)
class TokenGenerated:
    # -1 when the text is not a new token: held-back text released at the end,
    # or a second piece of one token that is part reasoning, part content.
    token_id: int
    text: str
    kind: TokenKind = TokenKind.CONTENT


@dataclass(frozen=True, slots=True)
class ParsedToolCall:
    id: str
    name: str
    arguments: Any  # the decoded JSON arguments, validated against the tool's schema


@dataclass(frozen=True, slots=True)
class ToolCallsParsed:
    """The tool calls of the answer, parsed and validated; GenerationFinished follows."""

    calls: tuple[ParsedToolCall, ...]


@dataclass(frozen=True, slots=True)
class GenerationFinished:
    reason: FinishReason
    usage: Usage


@dataclass(frozen=True, slots=True)
class OversizedImage:
    """Paddler's `oversized_image_details`: an image's tokens and the most one batch takes."""

    image_tokens: int
    n_batch: int


@dataclass(frozen=True, slots=True)
class GenerationFailed:
    kind: ErrorKind
    message: str
    usage: Usage
    # One line per problem where there are several (tool-call validation).
    details: tuple[str, ...] = ()
    oversized_image: OversizedImage | None = None  # IMAGE_EXCEEDS_BATCH_SIZE


GenerationEvent = TokenGenerated | ToolCallsParsed | GenerationFinished | GenerationFailed
