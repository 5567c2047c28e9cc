"""The leader (elected through an etcd lease) is SIGKILLed: the other balancer leads within the
lease's time to live, and a state change made through it reaches the agents."""

import signal
import time
from typing import Any

from tests.integration.conftest import smollm2_state, wait_until
from tests.integration.ha_cluster import HaCluster, needs_etcd

pytestmark = needs_etcd

LEASE_TTL_S = 5


async def test_another_balancer_leads_within_the_lease_once_the_leader_is_killed(ha: HaCluster) -> None:
    await ha.serve_smollm2(agents=1, slots=1)

    first, survivor = await ha.leader_and_follower()
    assert first.balancer is not None
    first.balancer.stop(signal.SIGKILL)
    killed_at = time.monotonic()

    async def survivor_leads() -> bool:
        return bool((await ha.cluster_view(survivor))["leadership"]["is_leader"])

    await wait_until(survivor_leads, LEASE_TTL_S + 5, "the other balancer to lead")
    assert time.monotonic() - killed_at <= LEASE_TTL_S + 2

    # The new leader pushes states: a change through it is applied by the agent.
    state = smollm2_state()
    state["chat_template_override"] = {"content": "{{ messages[0]['content'] }}"}
    state["use_chat_template_override"] = True
    await survivor.put_state(state)

    def applied(agents: list[dict[str, Any]]) -> bool:
        return len(agents) == 1 and agents[0]["uses_chat_template_override"] is True

    survivor.agents = ha.agents
    await survivor.wait_for_agents(applied, "the agent to apply the new leader's state")
