import httpx

from tests.integration.conftest import Cluster, fixed_prompt_state, smollm2_state


async def test_pinned_agents_never_move_to_another_pool(cluster: Cluster) -> None:
    await cluster.start_balancer(
        "--compat-openai-addr", cluster.openai_addr, "--buffered-request-timeout", "3000"
    )
    await cluster.put_pool("default", {"desired_state": smollm2_state(), "keep_alive_s": 0})
    await cluster.put_pool("fixed", {"desired_state": fixed_prompt_state(), "keep_alive_s": 0})
    cluster.start_agent("pinned", slots=1, extra=("--pool", "fixed"))
    await cluster.wait_for_serving_agents(1)

    response = await cluster.http.post(
        f"{cluster.openai_url}/chat/completions",
        json={"model": "default", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2},
        timeout=httpx.Timeout(30.0),
    )
    pools = await cluster.pools_by_name()
    ids = await cluster.agent_ids_by_name()

    # The default pool has no agent of its own: its request waits until the buffer gives up.
    assert response.status_code == 504, response.text
    assert pools["fixed"]["agents"] == [ids["pinned"]]
    assert pools["default"]["agents"] == []
