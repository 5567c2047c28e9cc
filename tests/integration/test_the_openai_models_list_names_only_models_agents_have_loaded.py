import openai

from tests.integration.conftest import Cluster


async def test_the_openai_models_list_names_only_models_agents_have_loaded(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    client = openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused", max_retries=0)

    before = await client.models.list()
    await cluster.serve_smollm2(agents=1, slots=1)
    after = await client.models.list()
    await client.close()

    assert before.data == []
    # As Paddler names them: the file name without its extension.
    assert [(model.id, model.owned_by) for model in after.data] == [("SmolLM2-135M-Instruct.Q4_1", "paddler")]
