"""Two balancers send requests at the same moment to agents whose slots they share: an agent that
has no slot left refuses before any token, and the balancer tries another agent or buffers the
request. Every request completes, the refusals are counted, and no breaker opens."""

import asyncio
import re

from tests.integration.conftest import chat_prompt
from tests.integration.ha_cluster import HaCluster, needs_etcd

pytestmark = needs_etcd


def counter(metrics: str, name: str) -> float:
    found = re.search(rf"^{name} ([0-9.e+]+)$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_an_agents_refusal_for_want_of_a_slot_is_retried_without_opening_its_breaker(
    ha: HaCluster,
) -> None:
    await ha.serve_smollm2(agents=2, slots=1)
    refusals = 0.0
    # Whether both balancers send into one slot before the agent's status reaches the other is
    # a race: tried until it happens, each try a burst of six per balancer, the two interleaved.
    for attempt in range(30):
        answers = await asyncio.gather(
            *(
                balancer.raw_prompt_lines(chat_prompt(f"Say a word, {attempt}-{i}."), max_tokens=8)
                for i in range(6)
                for balancer in (ha.a, ha.b)
            )
        )
        for lines in answers:
            done = lines[-1]["Response"]["response"]["GeneratedToken"]["Done"]
            # Whole: up to max_tokens, or fewer when the model ends its answer itself.
            assert 1 <= done["usage"]["content_tokens"] <= 8
        refusals = 0.0
        for balancer in (ha.a, ha.b):
            metrics = (await balancer.http.get(f"{balancer.management_url}/metrics")).text
            refusals += counter(metrics, "paddler_agent_slot_refusals_total")
            assert "paddler_request_errors_total{" not in metrics
        if refusals:
            break

    assert refusals >= 1
    for balancer in (ha.a, ha.b):
        for agent in await balancer.agents_snapshot():
            assert "circuit_breaker" not in agent, agent
