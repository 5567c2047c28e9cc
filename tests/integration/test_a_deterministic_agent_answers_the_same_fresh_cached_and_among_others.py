import asyncio

import openai

from tests.integration.conftest import Cluster, smollm2_state


async def test_a_deterministic_agent_answers_the_same_fresh_cached_and_among_others(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.put_state(smollm2_state())
    agent = cluster.start_agent("deterministic", slots=2, extra=("--deterministic",))
    await cluster.wait_for_serving_agents(1)
    async with openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused") as client:

        async def answer(question: str) -> str:
            completion = await client.chat.completions.create(
                model="any",
                messages=[{"role": "user", "content": question}],
                max_tokens=32,
                temperature=0.0,
            )
            return completion.choices[0].message.content or ""

        fresh = await answer("Name three colours of the rainbow.")
        # The same prompt again: its prefix now comes from the slot's cache.
        cached = await answer("Name three colours of the rainbow.")
        among_others, _ = await asyncio.gather(
            answer("Name three colours of the rainbow."), answer("Count to five, please.")
        )

    assert fresh
    assert cached == fresh
    assert among_others == fresh
    assert "matrix products on the CPU: ggml's kernels, deterministic" in agent.output()
