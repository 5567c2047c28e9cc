from tests.integration.conftest import Cluster, chat_prompt


async def test_an_agent_silent_past_the_item_timeout_ends_the_stream_with_504(cluster: Cluster) -> None:
    # 1 ms: no prompt is processed that fast, so the first token is always late.
    await cluster.start_balancer("--inference-item-timeout", "1")
    await cluster.serve_smollm2(agents=1, slots=1)

    lines = await cluster.raw_prompt_lines(chat_prompt("Say hello."), max_tokens=50)

    assert lines[-1]["Error"]["error"]["code"] == 504
    # The agent was told to stop: its slot is free again.
    await cluster.wait_for_agents(lambda agents: agents[0]["slots_processing"] == 0, "the slot to be free")
