"""What the balancer streams back to inference clients, NDJSON or WebSocket.

Built as plain dicts: these are on the per-token path and go straight to
orjson.

    {"Response": {"request_id", "generated_by", "response": {"GeneratedToken": {"ContentToken": "..."}}}}
    {"Response": {..., "response": {"GeneratedToken": {"Done": {"usage": {...}}}}}}
    {"Response": {..., "response": "Timeout" | "TooManyBufferedRequests"}}
    {"Error": {"request_id", "error": {"code", "description"}}}
"""

from __future__ import annotations

import enum
from typing import Any, Final

import orjson

USAGE_FIELDS: Final = (
    "prompt_tokens",
    "cached_prompt_tokens",
    "input_image_tokens",
    "input_audio_tokens",
    "content_tokens",
    "reasoning_tokens",
    "tool_call_tokens",
    "undeterminable_tokens",
)


class BalancerErrorCode(enum.IntEnum):
    """Codes of balancer-side failures, as HTTP statuses."""

    BAD_REQUEST = 400
    INTERNAL = 500
    NOT_IMPLEMENTED = 501
    AGENT_CONNECTION_CLOSED = 502
    UNAVAILABLE = 503
    TIMEOUT = 504


def usage(**counts: int) -> dict[str, int]:
    return {field: counts.get(field, 0) for field in USAGE_FIELDS}


def response_envelope(request_id: str, generated_by: str | None, response: Any) -> dict[str, Any]:
    return {"Response": {"request_id": request_id, "generated_by": generated_by, "response": response}}


def envelope_prefix(request_id: str, generated_by: str | None) -> bytes:
    """`response_envelope` serialized up to its response: `prefix + orjson.dumps(response) + b"}}"`
    is byte for byte `orjson.dumps(response_envelope(...))`, for the hot path of a stream."""
    return (
        b'{"Response":{"request_id":'
        + orjson.dumps(request_id)
        + b',"generated_by":'
        + orjson.dumps(generated_by)
        + b',"response":'
    )


def error_envelope(request_id: str, code: int, description: str) -> dict[str, Any]:
    return {"Error": {"request_id": request_id, "error": {"code": code, "description": description}}}
