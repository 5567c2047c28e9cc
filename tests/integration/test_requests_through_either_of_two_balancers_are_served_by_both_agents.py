"""Two balancers over one etcd, two agents connected to both: each balancer sees both agents and
routes to both (every agent is the arbiter of its own slots)."""

import asyncio

from tests.integration.conftest import chat_prompt
from tests.integration.ha_cluster import HaCluster, needs_etcd

pytestmark = needs_etcd


async def test_requests_through_either_of_two_balancers_are_served_by_both_agents(ha: HaCluster) -> None:
    await ha.serve_smollm2(agents=2, slots=2)

    for balancer in (ha.a, ha.b):
        # Four at once on four slots: the least busy agent is chosen each time, so both serve.
        answers = await asyncio.gather(
            *(balancer.raw_prompt_lines(chat_prompt(f"Name a color, {i}."), max_tokens=16) for i in range(4))
        )
        served_by = {line["Response"]["generated_by"] for lines in answers for line in lines}
        assert served_by == {"agent-0", "agent-1"}, balancer.management_addr
        for lines in answers:
            assert "Done" in lines[-1]["Response"]["response"]["GeneratedToken"]
