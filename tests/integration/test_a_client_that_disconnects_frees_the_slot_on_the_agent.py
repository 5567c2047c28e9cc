import orjson

from tests.integration.conftest import Cluster, chat_prompt


async def test_a_client_that_disconnects_frees_the_slot_on_the_agent(cluster: Cluster) -> None:
    await cluster.start_balancer()
    await cluster.serve_smollm2(agents=1, slots=1)

    async with cluster.http.stream(
        "POST",
        f"{cluster.inference_url}/api/v1/continue_from_raw_prompt",
        json={"raw_prompt": chat_prompt("Write a long story about a dragon."), "max_tokens": 900},
    ) as response:
        async for raw in response.aiter_lines():
            assert "GeneratedToken" in orjson.loads(raw)["Response"]["response"]
            break
    # Left after one token: the engine stops long before 900 tokens.

    await cluster.wait_for_agents(
        lambda agents: agents[0]["slots_processing"] == 0, "the slot to be free", timeout_s=3
    )
    lines = await cluster.raw_prompt_lines(chat_prompt("Say hello."), max_tokens=3)
    assert "Done" in lines[-1]["Response"]["response"]["GeneratedToken"]
