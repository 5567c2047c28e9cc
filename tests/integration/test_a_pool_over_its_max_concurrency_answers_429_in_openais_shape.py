import asyncio

import openai
import pytest

from tests.integration.conftest import Cluster, smollm2_state


async def test_a_pool_over_its_max_concurrency_answers_429_in_openais_shape(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.put_pool("default", {"desired_state": smollm2_state(), "max_concurrency": 1})
    cluster.start_agent("only", slots=2)
    await cluster.wait_for_serving_agents(1)
    async with openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused") as client:
        messages: list[openai.types.chat.ChatCompletionMessageParam] = [
            {"role": "user", "content": "Tell me a long story."}
        ]

        stream = await client.chat.completions.create(
            model="default", messages=messages, max_tokens=200, stream=True, extra_body={"ignore_eos": True}
        )
        first = await anext(aiter(stream))
        with pytest.raises(openai.RateLimitError) as refused:
            await client.chat.completions.create(model="default", messages=messages, max_tokens=2)
        rest = [chunk async for chunk in stream]
        after = await client.chat.completions.create(model="default", messages=messages, max_tokens=2)

        assert first.choices
        assert refused.value.status_code == 429
        assert refused.value.code == "rate_limit_exceeded"
        assert "max_concurrency" in refused.value.message
        assert len(rest) > 100
        assert after.choices[0].message.content
        await asyncio.sleep(0)
