import asyncio
import time

import openai

from tests.integration.conftest import Cluster, fixed_prompt_state, smollm2_state


async def test_two_unpinned_agents_under_steady_two_pool_traffic_settle_one_in_each_pool(
    cluster: Cluster,
) -> None:
    await cluster.start_balancer(
        "--compat-openai-addr", cluster.openai_addr, "--buffered-request-timeout", "60000"
    )
    # No keep-alive: an idle pool may give its agent up at once. Each gap between one client's
    # requests is such a lull; the pool's last agent must stay through it all the same.
    await cluster.put_pool("default", {"desired_state": smollm2_state(), "keep_alive_s": 0})
    await cluster.put_pool("fixed", {"desired_state": fixed_prompt_state(), "keep_alive_s": 0})
    cluster.start_agent("first", slots=1)
    cluster.start_agent("second", slots=1)
    await cluster.wait_for_serving_agents(2)
    deadline = time.monotonic() + 12.0
    async with openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused", timeout=120) as client:

        async def alternate(start: int) -> int:
            # Four clients, each asking for the two pools in turn, one request after another.
            answered = 0
            turn = start
            while time.monotonic() < deadline:
                model = ("default", "fixed")[turn % 2]
                await client.chat.completions.create(
                    model=model, messages=[{"role": "user", "content": "Say hello."}], max_tokens=4
                )
                answered += 1
                turn += 1
            return answered

        answered = await asyncio.gather(*(alternate(start) for start in range(4)))
    metrics = (await cluster.http.get(f"{cluster.management_url}/metrics")).text
    placements = [line for line in metrics.splitlines() if line.startswith("paddler_pool_placements_total")]

    assert all(count > 2 for count in answered)
    # One move: an agent of `default` to `fixed`; the other stays. None after that.
    assert placements == ['paddler_pool_placements_total{reason="waiting_requests"} 1.0']
