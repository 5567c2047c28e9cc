import openai
import orjson

from tests.engine.chat_templates import HERMES_TOOLS, WEATHER_TOOL
from tests.integration.conftest import Cluster


async def test_the_openai_sdk_receives_tool_calls(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.serve_smollm2_with_template(HERMES_TOOLS)
    # SmolLM2 is too small to choose a tool call on its own; the few-shot
    # history below makes it write one (greedy, so the run is repeatable),
    # and the tool-call grammar keeps its arguments to the schema.
    messages = [
        {"role": "system", "content": "Answer weather questions with a get_weather tool call."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
        },
        {"role": "user", "content": "Weather in Rome?"},
    ]
    client = openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused", max_retries=0)

    completion = await client.chat.completions.create(
        model="m",
        messages=messages,  # type: ignore[arg-type]
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        max_tokens=60,
    )
    await client.close()

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls", choice.message
    assert choice.message.tool_calls is not None
    [call] = choice.message.tool_calls
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    arguments = orjson.loads(call.function.arguments)  # type: ignore[union-attr]
    assert set(arguments) == {"city"}
