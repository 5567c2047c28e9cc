from tests.integration.conftest import Cluster, chat_prompt, token_text


async def test_a_prompt_longer_than_the_context_gets_400_and_the_agent_keeps_serving(
    cluster: Cluster,
) -> None:
    await cluster.start_balancer()
    await cluster.serve_smollm2(agents=1, slots=1, context_size=256)

    too_long = await cluster.raw_prompt_lines("word " * 2000, max_tokens=4)
    after = await cluster.raw_prompt_lines(chat_prompt("Say hello."), max_tokens=4)

    assert len(too_long) == 1
    assert too_long[0]["Error"]["error"]["code"] == 400
    assert "prompt" in too_long[0]["Error"]["error"]["description"]
    assert token_text(after)
