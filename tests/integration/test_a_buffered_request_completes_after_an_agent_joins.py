import asyncio

from tests.integration.conftest import Cluster, chat_prompt, smollm2_state, token_text, wait_until


async def test_a_buffered_request_completes_after_an_agent_joins(cluster: Cluster) -> None:
    await cluster.start_balancer()
    await cluster.put_state(smollm2_state())

    waiting = asyncio.create_task(cluster.raw_prompt_lines(chat_prompt("Say hello."), max_tokens=4))

    async def buffered() -> bool:
        response = await cluster.http.get(f"{cluster.management_url}/api/v1/buffered_requests")
        return bool(response.json()["buffered_requests_current"] == 1)

    await wait_until(buffered, what="the request to be buffered")
    cluster.start_agent("late")
    lines = await waiting

    assert token_text(lines)
    assert "Done" in lines[-1]["Response"]["response"]["GeneratedToken"]
    response = await cluster.http.get(f"{cluster.management_url}/api/v1/buffered_requests")
    assert response.json() == {"buffered_requests_current": 0}
