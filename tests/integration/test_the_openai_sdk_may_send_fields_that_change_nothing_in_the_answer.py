import openai
import pytest

from tests.integration.conftest import Cluster


async def test_the_openai_sdk_may_send_fields_that_change_nothing_in_the_answer(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.serve_smollm2(agents=1, slots=1)
    client = openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused", max_retries=0)
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": "Say hi."}]

    completion = await client.chat.completions.create(
        model="m",
        messages=messages,
        max_tokens=4,
        metadata={"team": "search"},
        store=False,
        user="someone",
        service_tier="auto",
        prompt_cache_key="conversation-1",
        safety_identifier="hashed-user",
        reasoning_effort="low",
        logit_bias={},
        top_logprobs=0,
    )
    # A bias would change the answer, and we cannot apply it: refused, not ignored.
    with pytest.raises(openai.BadRequestError, match="logit_bias"):
        await client.chat.completions.create(model="m", messages=messages, logit_bias={"42": -100})
    await client.close()

    assert completion.choices[0].message.content
