import orjson

from tests.integration.conftest import Cluster, chat_prompt, smollm2_state, token_text


async def test_an_agent_reconnects_after_a_balancer_restart_and_the_file_state_is_intact(
    cluster: Cluster,
) -> None:
    state_file = cluster.tmp_path / "state" / "desired.json"
    database = f"file://{state_file}"
    await cluster.start_balancer("--state-database", database)
    await cluster.serve_smollm2(agents=1)
    stored = await cluster.http.get(f"{cluster.management_url}/api/v1/balancer_desired_state")
    assert cluster.balancer is not None

    assert cluster.balancer.stop() == 0
    # The file holds every model pool; Paddler's one desired state is the default pool's.
    assert orjson.loads(state_file.read_bytes())["pools"]["default"]["desired_state"] == stored.json()
    await cluster.start_balancer("--state-database", database)
    await cluster.wait_for_serving_agents(1)

    restored = await cluster.http.get(f"{cluster.management_url}/api/v1/balancer_desired_state")
    assert restored.json() == stored.json()
    assert restored.json()["model"] == smollm2_state()["model"]
    assert token_text(await cluster.raw_prompt_lines(chat_prompt("Say hello."), max_tokens=4))
