import asyncio

import openai

from tests.integration.conftest import Cluster, fixed_prompt_state, smollm2_state, wait_until


async def test_a_pool_deleted_while_serving_drains_its_requests(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.put_state(smollm2_state())
    await cluster.put_pool("fixed", {"desired_state": fixed_prompt_state()})
    cluster.start_agent("general", slots=1)
    cluster.start_agent("pinned", slots=1, extra=("--pool", "fixed"))
    await cluster.wait_for_serving_agents(2)
    async with openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused") as client:
        messages: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": "Hi"}]

        stream = await client.chat.completions.create(
            model="fixed", messages=messages, max_tokens=120, stream=True, extra_body={"ignore_eos": True}
        )
        first = await anext(aiter(stream))
        deleted = await cluster.http.delete(f"{cluster.management_url}/api/v1/pools/fixed")
        listed_while_draining = await cluster.pools_by_name()
        rest = [chunk async for chunk in stream]

        async def gone() -> bool:
            return "fixed" not in await cluster.pools_by_name()

        await wait_until(gone, what="the deleted pool to go once drained")
        assert deleted.status_code == 204
        assert listed_while_draining["fixed"]["deleting"] is True
        assert first.choices
        # Every token of the stream in flight came, and it ended normally.
        assert sum(1 for chunk in rest if chunk.choices and chunk.choices[0].delta.content) >= 100
        assert rest[-1].choices[0].finish_reason == "length"
        await asyncio.sleep(0)
