"""What the OpenAI endpoints share: the error shape, SSE lines, a generation's outcome."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from paddler.balancer.request_relay import Relayed, RelayFinished

_ERROR_TYPES = {400: "invalid_request_error", 404: "not_found_error", 413: "invalid_request_error"}


def openai_error(status_code: int, message: str, param: str | None = None) -> Response:
    body = {
        "error": {
            "message": message,
            "type": _ERROR_TYPES.get(status_code, "server_error"),
            "param": param,
            "code": None,
        }
    }
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")


def sse(value: Any) -> bytes:
    return b"data: " + orjson.dumps(value) + b"\n\n"


class Generation:
    """What the relay gave for one request, as text, usage and an ending."""

    def __init__(self) -> None:
        self.usage: dict[str, int] = {}
        # (code, message) when the request failed.
        self.error: tuple[int, str] | None = None

    def texts(self, event: Relayed) -> list[str]:
        return [
            response["GeneratedToken"].get("ContentToken", "")
            for response in event.responses
            if "GeneratedToken" in response
        ]

    def finish(self, event: RelayFinished) -> None:
        result = event.response.get("GeneratedToken", {}) if isinstance(event.response, dict) else {}
        if "Done" in result:
            self.usage = result["Done"].get("usage", {})
        else:
            variant, detail = next(iter(result.items()), ("Error", "the agent ended the request"))
            self.error = (500, f"{variant}: {detail}")

    def openai_usage(self) -> dict[str, int]:
        completion = self.usage.get("content_tokens", 0)
        prompt = self.usage.get("prompt_tokens", 0)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def finish_reason(self, limit: int) -> str:
        return "length" if limit > 0 and self.usage.get("content_tokens", 0) >= limit else "stop"
