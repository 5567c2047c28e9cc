"""What the OpenAI endpoints share: the error shape, SSE lines, a generation's outcome."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import orjson
from starlette.responses import Response

from paddler.balancer.dispatch.relay_event import Relayed, RelayEvent, RelayFinished

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
}
# As the OpenAI API answers a missing or wrong key.
_ERROR_CODES = {401: "invalid_api_key"}

# Terminal GeneratedToken variants that what the client sent caused (its
# grammar or response format, its tools, its images): 400 with the engine's
# message, as llama-server answers them. Every other variant is the server's
# (500): a chat template that fails, a sampler failure, model output that the
# grammar, the tool-call parser or a tool's schema rejects.
_CLIENT_FAULT_VARIANTS = frozenset(
    {
        "GrammarSyntaxError",
        "GrammarInitializationFailed",
        "GrammarIncompatibleWithThinking",
        "ToolSchemaInvalid",
        "MultimodalNotSupported",
        "ImageDecodingFailed",
        "ImageExceedsBatchSize",
    }
)


def openai_error_body(
    status_code: int,
    message: str,
    param: str | None = None,
    code: str | None = None,
    error_type: str | None = None,
) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": error_type or _ERROR_TYPES.get(status_code, "server_error"),
            "param": param,
            "code": code or _ERROR_CODES.get(status_code),
        }
    }


def openai_stream_error(status_code: int, message: str) -> bytes:
    """The error event that ends a stream whose 200 already went out. OpenAI's `code` is a
    string or null: it carries the status that the stream could not send, as a string."""
    body = openai_error_body(status_code, message)
    body["error"]["code"] = body["error"]["code"] or str(status_code)
    return sse(body)


def openai_error(
    status_code: int,
    message: str,
    param: str | None = None,
    code: str | None = None,
    error_type: str | None = None,
) -> Response:
    body = openai_error_body(status_code, message, param, code, error_type)
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")


def sse(value: Any) -> bytes:
    return b"data: " + orjson.dumps(value) + b"\n\n"


async def stream_or_failure(
    events: AsyncGenerator[RelayEvent, None],
) -> tuple[int, str] | AsyncGenerator[RelayEvent, None]:
    """Waits for a relay's first event: the (status, message) to answer with if the
    request failed before anything was generated (the relay is closed then), else the
    relay's events, that first one included.

    A stream starts once there is something to stream, as llama-server does: a failure
    known before that (a grammar that does not compile, a prompt too long) gets its own
    status, not a 200 and an error event.
    """
    try:
        first = await anext(events)
    except BaseException:
        await events.aclose()
        raise
    failure: tuple[int, str] | None = None
    if isinstance(first, RelayFinished):
        failure = Generation.result_failure(first)
    elif not isinstance(first, Relayed):
        failure = (first.code, first.description)
    if failure is not None:
        await events.aclose()
        return failure
    return _prepended(first, events)


async def _prepended(
    first: RelayEvent, events: AsyncGenerator[RelayEvent, None]
) -> AsyncGenerator[RelayEvent, None]:
    async with aclosing(events):
        yield first
        async for event in events:
            yield event


class Generation:
    """What the relay gave for one request, as text, usage and an ending."""

    def __init__(self) -> None:
        self.usage: dict[str, int] = {}
        # The generation filled its slot's context (finish_reason "length").
        self.context_exhausted = False
        # (code, message) when the request failed.
        self.error: tuple[int, str] | None = None
        # OpenAI tool calls, from the agent's ToolCallParsed.
        self.tool_calls: list[dict[str, Any]] = []

    async def collect(self, events: AsyncGenerator[RelayEvent, None]) -> tuple[str, str]:
        """Reads a whole relay (non-streaming answers): its (content, reasoning) text; the
        usage, tool calls or error are kept here."""
        content: list[str] = []
        reasoning: list[str] = []
        async with aclosing(events):
            async for event in events:
                if isinstance(event, Relayed):
                    for kind, piece in self.pieces(event):
                        (content if kind == "content" else reasoning).append(piece)
                elif isinstance(event, RelayFinished):
                    self.finish(event)
                else:
                    self.error = (event.code, event.description)
        return "".join(content), "".join(reasoning)

    def texts(self, event: Relayed) -> list[str]:
        """Answer text (content; undeterminable text counts as content, as in Paddler)."""
        return [piece for kind, piece in self.pieces(event) if kind == "content"]

    def pieces(self, event: Relayed) -> list[tuple[str, str]]:
        """(kind, text) of each generated piece: kind is "content" or "reasoning"."""
        pieces: list[tuple[str, str]] = []
        for response in event.responses:
            token = response.get("GeneratedToken") if isinstance(response, dict) else None
            if not isinstance(token, dict):
                continue
            if "ContentToken" in token:
                pieces.append(("content", token["ContentToken"]))
            elif "UndeterminableToken" in token:
                pieces.append(("content", token["UndeterminableToken"]))
            elif "ReasoningToken" in token:
                pieces.append(("reasoning", token["ReasoningToken"]))
            elif "ToolCallParsed" in token:
                self._add_tool_calls(token["ToolCallParsed"])
        return pieces

    def _add_tool_calls(self, calls: list[dict[str, Any]]) -> None:
        for call in calls:
            arguments = call.get("arguments", {})
            text = (
                orjson.dumps(arguments["ValidJson"]).decode()
                if "ValidJson" in arguments
                else str(arguments.get("InvalidJson", ""))
            )
            self.tool_calls.append(
                {
                    "id": call.get("id") or f"call_{len(self.tool_calls)}",
                    "type": "function",
                    "function": {"name": call.get("name", ""), "arguments": text},
                }
            )

    def finish(self, event: RelayFinished) -> None:
        failure = self.result_failure(event)
        if failure is not None:
            self.error = failure
            return
        self.usage = event.response["GeneratedToken"]["Done"].get("usage", {})
        self.context_exhausted = event.context_exhausted

    @staticmethod
    def result_failure(event: RelayFinished) -> tuple[int, str] | None:
        """The (status, message) of a generation's last response, None for Done."""
        result = event.response.get("GeneratedToken") if isinstance(event.response, dict) else None
        if not isinstance(result, dict) or not result:
            return (500, f"the agent ended the request with {event.response!r}")
        variant, detail = next(iter(result.items()))
        if variant == "Done" and isinstance(detail, dict):
            return None
        status = 400 if variant in _CLIENT_FAULT_VARIANTS else 500
        return (status, f"{variant}: {_describe(detail)}")

    def completion_tokens(self) -> int:
        return sum(
            self.usage.get(name, 0)
            for name in ("content_tokens", "reasoning_tokens", "tool_call_tokens", "undeterminable_tokens")
        )

    def openai_usage(self) -> dict[str, Any]:
        completion = self.completion_tokens()
        prompt = self.usage.get("prompt_tokens", 0)
        # The details always, as OpenAI and Paddler send them: clients read
        # `usage.completion_tokens_details.reasoning_tokens` without a None check.
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {
                "cached_tokens": self.usage.get("cached_prompt_tokens", 0),
                "audio_tokens": self.usage.get("input_audio_tokens", 0),
            },
            "completion_tokens_details": {"reasoning_tokens": self.usage.get("reasoning_tokens", 0)},
        }

    def finish_reason(self, limit: int) -> str:
        if self.tool_calls:
            return "tool_calls"
        if self.context_exhausted or (limit > 0 and self.completion_tokens() >= limit):
            return "length"
        return "stop"


def _describe(detail: Any) -> str:
    """A terminal variant's payload as text: most are a message, a few carry fields."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        return "; ".join(str(item) for item in detail)
    if isinstance(detail, dict) and {"image_tokens", "n_batch"} <= detail.keys():
        tokens, n_batch = detail["image_tokens"], detail["n_batch"]
        return f"the image takes {tokens} tokens, more than the agent's n_batch of {n_batch}"
    if isinstance(detail, dict) and {"text", "ffi_error_message"} <= detail.keys():
        return f"{detail['ffi_error_message']}: {detail['text']}"
    return orjson.dumps(detail).decode()
