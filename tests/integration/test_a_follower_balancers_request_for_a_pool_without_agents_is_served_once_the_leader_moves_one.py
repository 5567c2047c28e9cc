"""Model placement has one author: the leader. A request for a pool with no agent, sent through
the other balancer, waits in that balancer's buffer; the leader sees that demand through etcd and
moves the agent; the follower learns from the agent where it serves now, and the request is
answered."""

import openai

from tests.integration.conftest import fixed_prompt_state, smollm2_state
from tests.integration.ha_cluster import HaCluster, needs_etcd

pytestmark = needs_etcd


async def test_a_follower_balancers_request_for_a_pool_without_agents_is_served_once_the_leader_moves_one(
    ha: HaCluster,
) -> None:
    await ha.start_balancer(ha.a)
    await ha.start_balancer(ha.b)
    await ha.a.put_pool("default", {"desired_state": smollm2_state(), "keep_alive_s": 0})
    await ha.a.put_pool("fixed", {"desired_state": fixed_prompt_state(), "keep_alive_s": 0})
    ha.start_agent("only", slots=1)
    await ha.wait_serving(ha.a, agents=1, slots=1)
    await ha.wait_serving(ha.b, agents=1, slots=1)

    first, follower = await ha.leader_and_follower()

    async with openai.AsyncOpenAI(base_url=follower.openai_url, api_key="unused", timeout=120) as client:
        fixed = await client.chat.completions.create(
            model="fixed", messages=[{"role": "user", "content": "Say hello."}], max_tokens=8
        )
        back = await client.chat.completions.create(
            model="default", messages=[{"role": "user", "content": "Say hello."}], max_tokens=8
        )

    assert fixed.model == "fixed"
    assert fixed.choices[0].message.content
    assert back.model == "default"
    metrics = (await first.http.get(f"{first.management_url}/metrics")).text
    assert 'paddler_pool_placements_total{reason="waiting_requests"}' in metrics
