import asyncio

from tests.integration.conftest import Cluster, chat_prompt


async def test_requests_go_to_the_least_busy_agent(cluster: Cluster) -> None:
    await cluster.start_balancer()
    await cluster.serve_smollm2(agents=2, slots=2)

    answers = await asyncio.gather(
        *(cluster.raw_prompt_lines(chat_prompt(f"Count to {n}."), max_tokens=6) for n in (3, 4))
    )

    serving = {answer[0]["Response"]["generated_by"] for answer in answers}
    assert len(serving) == 2
