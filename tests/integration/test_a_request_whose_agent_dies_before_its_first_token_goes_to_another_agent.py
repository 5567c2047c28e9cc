import asyncio
import signal

from tests.integration.conftest import Cluster, wait_until


async def test_a_request_whose_agent_dies_before_its_first_token_goes_to_another_agent(
    cluster: Cluster,
) -> None:
    await cluster.start_balancer()
    # A long prompt on one thread: its prefill gives time to kill the agent before any token.
    await cluster.serve_smollm2(agents=2, slots=1, context_size=1024)
    names = [agent["name"] for agent in await cluster.agents_snapshot()]
    answering = asyncio.create_task(cluster.raw_prompt_lines("word " * 200, max_tokens=4))

    async def busy_agent() -> str | None:
        agents = await cluster.agents_snapshot()
        return next((agent["name"] for agent in agents if agent["slots_processing"] == 1), None)

    victim: str = await wait_until(busy_agent, what="an agent to start the request")
    cluster.agents[int(victim.rsplit("-", 1)[1])].popen.send_signal(signal.SIGKILL)
    lines = await answering

    survivor = next(name for name in names if name != victim)
    assert "Done" in lines[-1]["Response"]["response"]["GeneratedToken"]
    assert {line["Response"]["generated_by"] for line in lines} == {survivor}
