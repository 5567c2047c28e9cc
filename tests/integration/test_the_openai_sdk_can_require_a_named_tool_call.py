from typing import Any

import openai
import orjson

from tests.engine.chat_templates import HERMES_TOOLS, WEATHER_TOOL
from tests.integration.conftest import Cluster

TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "The time in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


async def test_the_openai_sdk_can_require_a_named_tool_call(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.serve_smollm2_with_template(HERMES_TOOLS)
    # As in the tool-call test: a few-shot history so the small model writes a call at all;
    # naming get_time leaves it the only tool it may call.
    messages: list[Any] = [
        {"role": "system", "content": "Answer with a tool call."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
        },
        {"role": "user", "content": "What time is it in Rome?"},
    ]
    tools: list[Any] = [WEATHER_TOOL, TIME_TOOL]
    choice: Any = {"type": "function", "function": {"name": "get_time"}}
    client = openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused", max_retries=0)

    completion = await client.chat.completions.create(
        model="m",
        messages=messages,
        tools=tools,
        tool_choice=choice,
        max_tokens=60,
    )
    await client.close()

    answer = completion.choices[0]
    assert answer.finish_reason == "tool_calls", answer.message
    assert answer.message.tool_calls is not None
    calls: list[Any] = list(answer.message.tool_calls)
    assert [call.function.name for call in calls] == ["get_time"]
    assert set(orjson.loads(calls[0].function.arguments)) == {"city"}
