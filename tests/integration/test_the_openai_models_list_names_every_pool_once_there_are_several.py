import openai

from tests.integration.conftest import Cluster, fixed_prompt_state


async def test_the_openai_models_list_names_every_pool_once_there_are_several(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.serve_smollm2(agents=1, slots=1)
    await cluster.put_pool("fixed", {"desired_state": fixed_prompt_state(), "aliases": ["same-answer"]})
    async with openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused") as client:
        models = {model.id: model.model_dump() for model in (await client.models.list()).data}

        assert set(models) == {"default", "fixed"}
        assert models["default"]["owned_by"] == "paddler"
        assert models["default"]["loaded"] is True
        # No agent serves it: nothing asked for it, and it wants no agent (min_agents 0).
        assert models["fixed"]["loaded"] is False
        assert models["fixed"]["aliases"] == ["same-answer"]
