import openai
import pytest

from tests.integration.conftest import Cluster, smollm2_state


async def test_any_model_is_served_by_default_while_alone_and_an_unknown_one_is_404_once_two_pools_exist(
    cluster: Cluster,
) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.serve_smollm2(agents=1, slots=1)
    async with openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused") as client:
        messages: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": "Hi"}]

        alone = await client.chat.completions.create(model="gpt-4o", messages=messages, max_tokens=2)
        await cluster.put_pool("other", {"desired_state": smollm2_state()})
        with pytest.raises(openai.NotFoundError) as refused:
            await client.chat.completions.create(model="gpt-4o", messages=messages, max_tokens=2)
        named = await client.chat.completions.create(model="default", messages=messages, max_tokens=2)

        # A single-model server answers whatever model a client names (its answer names the model asked).
        assert alone.model == "gpt-4o"
        assert refused.value.code == "model_not_found"
        assert "gpt-4o" in refused.value.message
        assert named.model == "default"
        assert named.choices[0].message.content
