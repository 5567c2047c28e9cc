from tests.integration.conftest import Cluster, chat_prompt, smollm2_state, token_text, wait_until

SECRET = "agent-secret"


async def test_only_agents_with_the_agent_secret_join_and_serve(cluster: Cluster) -> None:
    await cluster.start_balancer("--agent-secret", SECRET)
    await cluster.put_state(smollm2_state())
    outsider = cluster.start_agent("outsider", 1, extra=("--agent-secret", "a guess"))
    cluster.start_agent("member", 1, env={"PADDLER_AGENT_SECRET": SECRET})

    await cluster.wait_for_serving_agents(1)

    async def outsider_told() -> bool:
        return "--agent-secret is missing or wrong" in outsider.output()

    await wait_until(outsider_told, what="the refused agent to log why")
    assert [agent["name"] for agent in await cluster.agents_snapshot()] == ["member"]
    assert token_text(await cluster.raw_prompt_lines(chat_prompt("Say hello."), max_tokens=3))
    # Refused, it keeps trying (the balancer may come back with its secret) and stops on SIGTERM.
    assert outsider.popen.poll() is None
    assert outsider.stop() == 0
