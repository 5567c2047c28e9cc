import asyncio

import openai

from tests.integration.conftest import Cluster, fixed_prompt_state, smollm2_state


async def test_a_pool_without_agents_is_served_while_another_pool_stays_busy(cluster: Cluster) -> None:
    await cluster.start_balancer(
        "--compat-openai-addr", cluster.openai_addr, "--buffered-request-timeout", "30000"
    )
    # The default keep-alive (300 s): the busy pool never falls idle long enough to give its agent up.
    await cluster.put_pool("default", {"desired_state": smollm2_state()})
    await cluster.put_pool("fixed", {"desired_state": fixed_prompt_state()})
    cluster.start_agent("only", slots=1)
    await cluster.wait_for_serving_agents(1)
    stop = asyncio.Event()
    async with openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused", timeout=120) as client:

        async def keep_default_busy() -> int:
            served = 0
            while not stop.is_set():
                completion = await client.chat.completions.create(
                    model="default", messages=[{"role": "user", "content": "Count to ten."}], max_tokens=16
                )
                assert completion.model == "default"
                served += 1
            return served

        # Two loops on one slot: the default pool always has a request in flight and one waiting.
        loops = [asyncio.create_task(keep_default_busy()) for _ in range(2)]
        await asyncio.sleep(2.0)
        fixed = await client.chat.completions.create(
            model="fixed", messages=[{"role": "user", "content": "Say hello."}], max_tokens=8
        )
        # The default pool's waiting requests take the agent back the same way.
        await asyncio.sleep(4.0)
        stop.set()
        served = await asyncio.gather(*loops)
    metrics = (await cluster.http.get(f"{cluster.management_url}/metrics")).text

    assert fixed.model == "fixed"
    assert fixed.choices[0].message.content
    assert all(count >= 2 for count in served)
    assert 'paddler_pool_placements_total{reason="starving"} 2.0' in metrics
