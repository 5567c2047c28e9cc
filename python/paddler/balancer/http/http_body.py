"""Reading request bodies with a size limit, and the error answers for bad ones."""

from __future__ import annotations

from typing import TypeVar

import orjson
from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import Response

from paddler.protocol.body_validation import DEFAULT_MAX_BODY_BYTES, InvalidBody, decode_json

T = TypeVar("T")


def error_response(status_code: int, message: str) -> Response:
    return Response(
        orjson.dumps({"error": {"code": status_code, "description": message}}),
        status_code=status_code,
        media_type="application/json",
    )


def not_json_content_type(request: Request) -> str | None:
    """Why the request's `Content-Type` is not `application/json` (parameters such as a charset
    allowed), or None when it is.

    Generation endpoints answer JSON bodies only: a browser page may post a form
    or `text/plain` to any address without asking (no CORS preflight), but not JSON.
    """
    declared = request.headers.get("content-type")
    if declared is not None and declared.partition(";")[0].strip().lower() == "application/json":
        return None
    sent = "no Content-Type" if declared is None else f"Content-Type {declared[:100]!r}"
    return f"this endpoint takes a JSON body with `Content-Type: application/json`; the request has {sent}"


async def read_body(request: Request, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> bytes | Response:
    """The body, or a 413 answer as soon as it is known to be too large (never buffering it all)."""
    declared = request.headers.get("content-length")
    too_large = error_response(413, f"the body is larger than the limit of {max_bytes} bytes")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        return too_large
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > max_bytes:
            return too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(
    request: Request, adapter: TypeAdapter[T], max_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> T | Response:
    """The decoded body, or a 400/413 answer that says what is wrong."""
    body = await read_body(request, max_bytes)
    if isinstance(body, Response):
        return body
    if not body.strip():
        return error_response(400, "the body is empty; a JSON object is expected")
    decoded = decode_json(adapter, body)
    if isinstance(decoded, InvalidBody):
        return error_response(400, decoded.message)
    return decoded
