from tests.integration.conftest import Cluster, fixed_prompt_state, smollm2_state


async def test_every_pool_survives_a_balancer_restart_in_the_file_state(cluster: Cluster) -> None:
    database = f"file://{cluster.tmp_path / 'state.json'}"
    await cluster.start_balancer("--state-database", database)
    await cluster.put_state(smollm2_state())
    await cluster.put_pool(
        "fixed",
        {
            "desired_state": fixed_prompt_state(),
            "aliases": ["same-answer"],
            "min_agents": 1,
            "max_agents": 2,
            "keep_alive_s": 60,
            "max_concurrency": 5,
        },
    )
    before = await cluster.pools_by_name()

    assert cluster.balancer is not None
    cluster.balancer.stop()
    await cluster.start_balancer("--state-database", database)
    after = await cluster.pools_by_name()
    desired = await cluster.http.get(f"{cluster.management_url}/api/v1/balancer_desired_state")

    assert set(after) == {"default", "fixed"}
    assert after == before
    assert after["fixed"]["aliases"] == ["same-answer"]
    assert after["fixed"]["max_concurrency"] == 5
    assert desired.json()["model"] == smollm2_state()["model"]
