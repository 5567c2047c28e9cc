import openai
import pytest

from tests.integration.conftest import Cluster


async def test_what_the_openai_api_cannot_honour_is_refused_in_its_error_shape(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    client = openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused", max_retries=0)
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": "Hi"}]
    tool: openai.types.chat.ChatCompletionToolParam = {
        "type": "function",
        "function": {"name": "f", "parameters": {"type": "object"}},
    }

    with pytest.raises(openai.BadRequestError, match="tool_choice"):
        await client.chat.completions.create(
            model="m",
            messages=messages,
            tools=[tool],
            tool_choice={"type": "function", "function": {"name": "not_offered"}},
        )
    with pytest.raises(openai.BadRequestError, match="cannot be combined"):
        await client.chat.completions.create(
            model="m", messages=messages, tools=[tool], response_format={"type": "json_object"}
        )
    with pytest.raises(openai.BadRequestError, match="`n`"):
        await client.chat.completions.create(model="m", messages=messages, n=2)
    with pytest.raises(openai.BadRequestError, match="temperature"):
        await client.chat.completions.create(model="m", messages=messages, temperature=5)
    with pytest.raises(openai.BadRequestError, match="unknown field `surprise`"):
        await client.chat.completions.create(model="m", messages=messages, extra_body={"surprise": 1})
    await client.close()
