from tests.integration.conftest import Cluster, fixed_prompt_state, smollm2_state, wait_until


async def test_a_pool_gets_its_min_agents_from_an_idle_pool(cluster: Cluster) -> None:
    await cluster.start_balancer()
    await cluster.put_pool("default", {"desired_state": smollm2_state(), "keep_alive_s": 0})
    cluster.start_agent("first", slots=1)
    cluster.start_agent("second", slots=1)
    await cluster.wait_for_serving_agents(2)

    await cluster.put_pool("fixed", {"desired_state": fixed_prompt_state(), "min_agents": 1})

    async def placed() -> dict[str, list[str]] | None:
        pools = await cluster.pools_by_name()
        agents = {name: pool["agents"] for name, pool in pools.items()}
        return agents if len(agents["fixed"]) == 1 and len(agents["default"]) == 1 else None

    agents = await wait_until(placed, what="one agent to move to the fixed pool")
    await cluster.wait_for_serving_agents(2)
    assert set(agents["fixed"] + agents["default"]) == set((await cluster.agent_ids_by_name()).values())
