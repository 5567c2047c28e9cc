"""As OpenAI and llama-server: a system, user or tool message needs `content` (missing or null
is a 400 naming the field); an assistant's turn that called tools may leave it out."""

from typing import Any

import httpx

from tests.integration.conftest import Cluster

CALL = {
    "id": "call_0",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
}
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


async def test_a_chat_message_without_content_gets_400_naming_the_field_unless_an_assistant_called_tools(
    cluster: Cluster,
) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.serve_smollm2(agents=1, slots=1)
    url = f"{cluster.openai_url}/chat/completions"
    contentless: list[dict[str, Any]] = [
        {"role": "user"},
        {"role": "user", "content": None},
        {"role": "system"},
        {"role": "developer", "content": None},
        {"role": "tool", "tool_call_id": "call_0"},
        {"role": "assistant"},
    ]

    for message in contentless:
        messages = [{"role": "user", "content": "Hi"}, message, {"role": "user", "content": "Hi"}]
        response = await cluster.http.post(url, json={"model": "m", "messages": messages, "max_tokens": 2})
        assert response.status_code == 400, (message, response.text)
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert "`messages.1`" in error["message"], error
        assert "`content`" in error["message"], error

    question = {"role": "user", "content": "Weather in Rome?"}
    result = {"role": "tool", "tool_call_id": "call_0", "content": "Sunny, 24 C"}
    for assistant in (
        {"role": "assistant", "tool_calls": [CALL]},
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
    ):
        answered = await _chat(cluster.http, url, [question, assistant, result])
        assert answered.status_code == 200, answered.text
        assert answered.json()["choices"][0]["message"]["role"] == "assistant"

    await cluster.assert_agents_alive_and_serving()


async def _chat(http: httpx.AsyncClient, url: str, messages: list[dict[str, Any]]) -> httpx.Response:
    return await http.post(url, json={"model": "m", "messages": messages, "tools": [TOOL], "max_tokens": 4})
