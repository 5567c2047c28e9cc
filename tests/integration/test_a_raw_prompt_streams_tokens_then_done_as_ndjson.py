from tests.integration.conftest import Cluster, chat_prompt, token_text


async def test_a_raw_prompt_streams_tokens_then_done_as_ndjson(cluster: Cluster) -> None:
    await cluster.start_balancer()
    await cluster.serve_smollm2(agents=1)

    lines = await cluster.raw_prompt_lines(chat_prompt("What is the capital of France?"), max_tokens=8)

    assert "Paris" in token_text(lines)
    done = lines[-1]["Response"]["response"]["GeneratedToken"]["Done"]
    assert done["usage"]["content_tokens"] == len(lines) - 1
    assert done["usage"]["prompt_tokens"] > 0
    # As in Paddler, `generated_by` names the agent (its --name), not its id.
    agent_name = (await cluster.agents_snapshot())[0]["name"]
    assert {line["Response"]["generated_by"] for line in lines} == {agent_name}
