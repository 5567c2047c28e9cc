"""`POST /v1/responses`: the Responses API over a conversation, streamed as its typed events or not."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from starlette.responses import Response, StreamingResponse

from paddler.balancer.dispatch.model_pool import ModelPool
from paddler.balancer.dispatch.relay_event import Relayed, RelayFinished
from paddler.balancer.dispatch.request_relay import RequestRelay
from paddler.balancer.http.json_response import json_response
from paddler.balancer.openai_compat.openai_common import Generation, openai_error, sse, stream_or_failure
from paddler.protocol.agent_socket import BalancerMethod
from paddler.protocol.openai_request import ResponsesRequest


async def answer_response(
    relay: RequestRelay, body: ResponsesRequest, model: str, limit: int, pool: ModelPool | None = None
) -> Response:
    """`limit`: the max_tokens to relay, the request's within the balancer's ceiling."""
    params = {
        "add_generation_prompt": True,
        "conversation_history": body.conversation(),
        "enable_thinking": False,
        "max_tokens": limit,
        "sampling": body.sampling(),
    }
    response_id = "resp_" + uuid.uuid4().hex
    message_id = "msg_" + uuid.uuid4().hex
    created = int(time.time())

    def response_object(status: str, text: str | None, usage: dict[str, int] | None) -> dict[str, Any]:
        output = []
        if text is not None:
            content = [{"type": "output_text", "text": text, "annotations": []}]
            output.append(
                {
                    "type": "message",
                    "id": message_id,
                    "status": status,
                    "role": "assistant",
                    "content": content,
                }
            )
        return {
            "id": response_id,
            "object": "response",
            "created_at": created,
            "status": status,
            "model": model,
            "output": output,
            "parallel_tool_calls": False,
            "tool_choice": "auto",
            "tools": [],
            "max_output_tokens": body.max_output_tokens,
            "temperature": body.temperature,
            "top_p": body.top_p,
            "usage": usage,
            "error": None,
            "incomplete_details": None,
            "instructions": body.instructions,
            "metadata": body.metadata or {},
        }

    def responses_usage(generation: Generation) -> dict[str, Any]:
        usage = generation.openai_usage()
        reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
        return {
            "input_tokens": usage["prompt_tokens"],
            "input_tokens_details": {"cached_tokens": usage["prompt_tokens_details"]["cached_tokens"]},
            "output_tokens": usage["completion_tokens"],
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": usage["total_tokens"],
        }

    method = BalancerMethod.CONTINUE_FROM_CONVERSATION_HISTORY
    if not body.stream:
        generation = Generation()
        text, _ = await generation.collect(relay.relay(method, params, pool=pool))
        if generation.error is not None:
            return openai_error(*generation.error)
        return json_response(response_object("completed", text, responses_usage(generation)))
    opened = await stream_or_failure(relay.relay(method, params, pool=pool))
    if isinstance(opened, tuple):
        return openai_error(*opened)

    async def events_stream() -> AsyncIterator[bytes]:
        sequence = 0

        def event(kind: str, **fields: Any) -> bytes:
            nonlocal sequence
            sequence += 1
            payload = {"type": kind, "sequence_number": sequence, **fields}
            return f"event: {kind}\n".encode() + sse(payload)

        where = {"item_id": message_id, "output_index": 0, "content_index": 0}
        yield event("response.created", response=response_object("in_progress", None, None))
        item = {
            "type": "message",
            "id": message_id,
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        yield event("response.output_item.added", output_index=0, item=item)
        part = {"type": "output_text", "text": "", "annotations": []}
        yield event("response.content_part.added", part=part, **where)
        generation = Generation()
        pieces: list[str] = []
        async with aclosing(opened) as relayed:
            async for relay_event in relayed:
                if isinstance(relay_event, Relayed):
                    text = "".join(generation.texts(relay_event))
                    if text:
                        pieces.append(text)
                        yield event("response.output_text.delta", delta=text, logprobs=[], **where)
                elif isinstance(relay_event, RelayFinished):
                    generation.finish(relay_event)
                else:
                    generation.error = (relay_event.code, relay_event.description)
        if generation.error is not None:
            code, message = generation.error
            yield event("error", code=str(code), message=message, param=None)
            return
        text = "".join(pieces)
        yield event("response.output_text.done", text=text, logprobs=[], **where)
        yield event("response.content_part.done", part={**part, "text": text}, **where)
        done = response_object("completed", text, responses_usage(generation))
        yield event("response.output_item.done", output_index=0, item=done["output"][0])
        yield event("response.completed", response=done)

    return StreamingResponse(
        events_stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )
