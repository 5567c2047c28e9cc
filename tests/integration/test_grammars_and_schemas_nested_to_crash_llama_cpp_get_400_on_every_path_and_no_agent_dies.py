"""Nesting that overflows llama.cpp's recursive parsers (an agent died of each
before) is refused on the balancer, naming the limit, on every path in."""

import json
from typing import Any

import orjson
import pytest
import websockets

from tests.integration.conftest import Cluster

# Each of these took an agent down with SIGSEGV when it reached llama.cpp.
DEEP_GBNF = "root ::= " + "(" * 20_000 + '"a"' + ")" * 20_000
LONG_PROPERTY = {"type": "object", "properties": {"!" * 30_000: {"type": "string"}}}
# Refused for its group depth, far past what llama.cpp's pattern translation should be given.
DEEP_PATTERN = {"type": "object", "properties": {"a": {"type": "string", "pattern": "(" * 5000 + ")" * 5000}}}


def deep_schema(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


def conversation(**extra: Any) -> dict[str, Any]:
    return {
        "add_generation_prompt": True,
        "conversation_history": [{"role": "user", "content": "Hi"}],
        "enable_thinking": False,
        "max_tokens": 4,
        **extra,
    }


def tool(parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": "lookup", "description": "", "parameters": parameters}}


NDJSON_CASES = [
    (
        "/api/v1/continue_from_raw_prompt",
        {"raw_prompt": "Hi", "max_tokens": 4, "grammar": {"type": "gbnf", "grammar": DEEP_GBNF}},
        "nests groups 20000 deep",
    ),
    # The official client sends a schema as JSON text.
    (
        "/api/v1/continue_from_conversation_history",
        conversation(grammar={"type": "json_schema", "schema": json.dumps(deep_schema(300))}),
        "levels of objects and arrays",
    ),
    (
        "/api/v1/continue_from_conversation_history",
        conversation(grammar={"type": "json_schema", "schema": LONG_PROPERTY}),
        "a property name",
    ),
    (
        "/api/v1/continue_from_conversation_history",
        conversation(tools=[tool(DEEP_PATTERN)]),
        "a `pattern` in the parameters of tool 'lookup'",
    ),
]


@pytest.fixture
async def serving(cluster: Cluster) -> Cluster:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.serve_smollm2(agents=2, slots=1)
    return cluster


async def test_ndjson_requests_with_each_hostile_constraint_get_400_naming_the_limit(
    serving: Cluster,
) -> None:
    for path, body, expected in NDJSON_CASES:
        response = await serving.http.post(f"{serving.inference_url}{path}", json=body)

        assert response.status_code == 400, response.text
        assert expected in response.text
        assert "the limit" in response.text
    await serving.assert_agents_alive_and_serving()


async def test_the_inference_socket_answers_each_hostile_constraint_with_error_400(serving: Cluster) -> None:
    frames = [
        {
            "ContinueFromRawPrompt": {
                "raw_prompt": "Hi",
                "max_tokens": 4,
                "grammar": {"type": "gbnf", "grammar": DEEP_GBNF},
            }
        },
        {"ContinueFromConversationHistory": conversation(tools=[tool(LONG_PROPERTY)])},
    ]
    async with websockets.connect(
        f"ws://{serving.inference_addr}/api/v1/inference_socket", max_size=None
    ) as socket:
        for number, request in enumerate(frames):
            await socket.send(orjson.dumps({"Request": {"id": f"hostile-{number}", "request": request}}))
            answer = orjson.loads(await socket.recv())

            assert answer["Error"]["request_id"] == f"hostile-{number}"
            assert answer["Error"]["error"]["code"] == 400
            assert "the limit" in answer["Error"]["error"]["description"]
    await serving.assert_agents_alive_and_serving()


async def test_the_openai_api_refuses_hostile_response_formats_and_tools_with_400(serving: Cluster) -> None:
    messages = [{"role": "user", "content": "Hi"}]
    bodies: list[dict[str, Any]] = [
        {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": LONG_PROPERTY}}},
        {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": DEEP_PATTERN}}},
        {"tools": [{"type": "function", "function": {"name": "lookup", "parameters": deep_schema(70)}}]},
    ]
    for extra in bodies:
        response = await serving.http.post(
            f"{serving.openai_url}/chat/completions", json={"model": "m", "messages": messages, **extra}
        )

        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert "the limit" in error["message"]
    await serving.assert_agents_alive_and_serving()
