"""A request that may be what kills agents costs two of them at most: after a
second agent dies under it before its first token, it ends with 502."""

import asyncio
import signal

import orjson

from tests.integration.conftest import Cluster, wait_until


async def test_a_request_whose_second_agent_dies_too_ends_with_502_and_reaches_no_third(
    cluster: Cluster,
) -> None:
    await cluster.start_balancer()
    # A long prompt on one thread: its prefill gives time to kill each agent before any token.
    await cluster.serve_smollm2(agents=3, slots=1, context_size=1024)
    answering = asyncio.create_task(
        cluster.http.post(
            f"{cluster.inference_url}/api/v1/continue_from_raw_prompt",
            json={"raw_prompt": "word " * 300, "max_tokens": 4},
        )
    )
    killed: list[str] = []

    async def busy_agent() -> str | None:
        agents = await cluster.agents_snapshot()
        return next(
            (a["name"] for a in agents if a["slots_processing"] == 1 and a["name"] not in killed), None
        )

    for _ in range(2):
        victim: str = await wait_until(busy_agent, what="an agent to start the request")
        process = cluster.agents[int(victim.rsplit("-", 1)[1])].popen
        process.send_signal(signal.SIGKILL)
        # Reaped before the survivors are counted below (a SIGKILL is not instant).
        await asyncio.to_thread(process.wait, 10)
        killed.append(victim)
        if answering.done():
            break
    response = await answering

    [line] = [orjson.loads(line) for line in response.text.splitlines() if line]
    assert line["Error"]["error"]["code"] == 502
    assert "not dispatched again" in line["Error"]["error"]["description"]
    metrics = (await cluster.http.get(f"{cluster.management_url}/metrics")).text
    assert 'paddler_requests_on_lost_agents_total{then="dispatched_again"} 1.0' in metrics
    assert 'paddler_requests_on_lost_agents_total{then="ended"} 1.0' in metrics
    for agent in list(cluster.agents):
        if agent.popen.poll() is not None:
            cluster.agents.remove(agent)
    [survivor] = cluster.agents
    # An agent logs each request it served or was stopped on: the survivor has none.
    assert "paddler.agent.request_handler" not in survivor.output()
    await cluster.wait_for_agents(lambda agents: len(agents) == 1, "the dead agents to leave the list")
    await cluster.assert_agents_alive_and_serving()
