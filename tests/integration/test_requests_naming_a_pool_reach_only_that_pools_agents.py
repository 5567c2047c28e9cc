import openai

from tests.integration.conftest import Cluster, fixed_prompt_state, smollm2_state


async def test_requests_naming_a_pool_reach_only_that_pools_agents(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.put_state(smollm2_state())
    await cluster.put_pool("fixed", {"desired_state": fixed_prompt_state(), "aliases": ["same-answer"]})
    cluster.start_agent("general", slots=1)
    cluster.start_agent("pinned", slots=1, extra=("--pool", "fixed"))
    await cluster.wait_for_serving_agents(2)
    async with openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused") as client:

        async def answer(model: str, question: str) -> tuple[str, str]:
            completion = await client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": question}], max_tokens=8, temperature=0.0
            )
            return completion.model, completion.choices[0].message.content or ""

        by_name = await answer("fixed", "Say hello.")
        by_alias = await answer("same-answer", "Count to three.")
        default_hello = await answer("default", "Say hello.")
        default_count = await answer("default", "Count to three.")

        # The fixed pool's template ignores the question: only its agent can give one answer to both.
        assert by_name == by_alias
        assert by_name[0] == "fixed"
        assert default_hello[0] == default_count[0] == "default"
        assert default_hello[1] != default_count[1]
        assert default_hello[1] != by_name[1]
        ids = await cluster.agent_ids_by_name()
        pools = await cluster.pools_by_name()
        assert pools["fixed"]["agents"] == [ids["pinned"]]
        assert pools["default"]["agents"] == [ids["general"]]
