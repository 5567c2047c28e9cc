"""The two answers every service gives the same way: a JSON body, and /health."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response


def json_response(value: object, status_code: int = 200) -> Response:
    return Response(orjson.dumps(value), status_code=status_code, media_type="application/json")


async def health(_request: Request) -> Response:
    return PlainTextResponse("OK")
