import openai

from tests.engine.chat_templates import HERMES_TOOLS, WEATHER_TOOL
from tests.integration.conftest import Cluster


async def test_the_openai_sdk_continues_after_a_tool_result(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.serve_smollm2_with_template(HERMES_TOOLS)
    client = openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused", max_retries=0)

    completion = await client.chat.completions.create(
        model="m",
        messages=[
            {"role": "user", "content": "Weather in Oslo?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "Snow, -3 C"},
        ],
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        max_tokens=24,
    )
    await client.close()

    choice = completion.choices[0]
    assert choice.finish_reason in ("stop", "length", "tool_calls")
    assert choice.message.content or choice.message.tool_calls
    assert completion.usage is not None
    # The whole history reached the template: a prompt well past the question alone.
    assert completion.usage.prompt_tokens > 80
