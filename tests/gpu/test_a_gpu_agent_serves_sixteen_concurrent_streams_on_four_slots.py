import asyncio

from tests.integration.conftest import Cluster


async def test_a_gpu_agent_serves_sixteen_concurrent_streams_on_four_slots(cluster: Cluster) -> None:
    # Twelve requests wait for a slot; how long depends on the card, not on us.
    await cluster.start_balancer(
        "--compat-openai-addr", cluster.openai_addr, "--buffered-request-timeout", "120000"
    )
    await cluster.serve_smollm2(agents=1, slots=4, n_gpu_layers=-1)

    async def completion_tokens(index: int) -> int:
        response = await cluster.http.post(
            f"{cluster.openai_url}/chat/completions",
            json={
                "model": "smollm2",
                "messages": [{"role": "user", "content": f"Tell story number {index} about a river."}],
                "max_tokens": 48,
                "ignore_eos": True,
            },
        )
        assert response.status_code == 200, response.text
        tokens: int = response.json()["usage"]["completion_tokens"]
        return tokens

    counts = await asyncio.gather(*(completion_tokens(index) for index in range(16)))

    assert counts == [48] * 16
