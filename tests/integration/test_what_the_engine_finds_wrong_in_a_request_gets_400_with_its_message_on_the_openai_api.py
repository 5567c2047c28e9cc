"""A request the engine cannot serve because of what the client sent (a JSON schema llama.cpp
cannot turn into a grammar, a prompt longer than the context, a tool schema that is not a
schema, an image for a text model) is the client's mistake: 400 with the engine's message,
streaming or not, and never a 500. Hostile input: the agent keeps serving."""

from typing import Any

import openai
import pytest

from tests.integration.conftest import Cluster

# A 1x1 PNG.
PIXEL = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
HI: list[Any] = [{"role": "user", "content": "Hi"}]

MISTAKES: dict[str, tuple[dict[str, Any], str]] = {
    "a schema llama.cpp cannot convert": (
        {
            "messages": HI,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": {"type": "unknown"}},
            },
        },
        "GrammarSyntaxError: invalid JSON schema",
    ),
    "a prompt longer than the context": (
        {"messages": [{"role": "user", "content": "word " * 400}]},
        "prompt_too_long: the prompt has",
    ),
    "a tool schema that is not a schema": (
        {
            "messages": HI,
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "f",
                        "parameters": {"type": "object", "properties": {"a": {"type": "not-a-type"}}},
                    },
                }
            ],
        },
        "ToolSchemaInvalid",
    ),
    "an image for a text model": (
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is in this picture?"},
                        {"type": "image_url", "image_url": {"url": PIXEL}},
                    ],
                }
            ]
        },
        "MultimodalNotSupported",
    ),
}


async def test_what_the_engine_finds_wrong_in_a_request_gets_400_with_its_message_on_the_openai_api(
    cluster: Cluster,
) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.serve_smollm2(agents=1, slots=1, context_size=256)
    client = openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused", max_retries=0)

    for what, (body, message) in MISTAKES.items():
        for stream in (False, True):
            with pytest.raises(openai.BadRequestError) as raised:
                await client.chat.completions.create(model="m", max_tokens=4, stream=stream, **body)
            assert message in raised.value.message, (what, stream, raised.value.message)
            assert isinstance(raised.value.body, dict)
            assert raised.value.body["type"] == "invalid_request_error", (what, raised.value.body)
    # The Responses API and the completions API answer the same way.
    with pytest.raises(openai.BadRequestError, match="prompt_too_long"):
        await client.responses.create(model="m", input="word " * 400, stream=True)
    with pytest.raises(openai.BadRequestError, match="prompt_too_long"):
        await client.completions.create(model="m", prompt="word " * 400, max_tokens=4)
    await client.close()

    await cluster.assert_agents_alive_and_serving()
