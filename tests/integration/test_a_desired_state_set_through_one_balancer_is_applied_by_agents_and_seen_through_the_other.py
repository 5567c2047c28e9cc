"""A desired state is set through balancer A: etcd carries it to balancer B (its API shows it), and
the agents, connected to both, apply it."""

from typing import Any

from tests.integration.conftest import smollm2_state, wait_until
from tests.integration.ha_cluster import HaCluster, needs_etcd

pytestmark = needs_etcd

TEMPLATE = (
    "{% for message in messages %}<{{ message['role'] }}>{{ message['content'] }}\n{% endfor %}<assistant>"
)


async def test_a_desired_state_set_through_one_balancer_is_applied_by_agents_and_seen_through_the_other(
    ha: HaCluster,
) -> None:
    await ha.serve_smollm2(agents=2, slots=1)
    state = smollm2_state()
    state["chat_template_override"] = {"content": TEMPLATE}
    state["use_chat_template_override"] = True

    await ha.a.put_state(state)

    async def seen_through_b() -> bool:
        response = await ha.b.http.get(f"{ha.b.management_url}/api/v1/balancer_desired_state")
        shown: dict[str, Any] = response.json()
        return shown.get("chat_template_override") == {"content": TEMPLATE}

    await wait_until(seen_through_b, 5, "balancer B to show the state set through A")

    def applied(agents: list[dict[str, Any]]) -> bool:
        return len(agents) == 2 and all(
            agent["uses_chat_template_override"] and agent["state_application_status"] == "Applied"
            for agent in agents
        )

    for balancer in (ha.a, ha.b):
        balancer.agents = ha.agents
        await balancer.wait_for_agents(
            applied, f"the agents seen through {balancer.management_addr} to apply it"
        )
