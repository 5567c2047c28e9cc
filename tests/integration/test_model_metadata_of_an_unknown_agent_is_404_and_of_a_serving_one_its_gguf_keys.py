from tests.integration.conftest import Cluster


async def test_model_metadata_of_an_unknown_agent_is_404_and_of_a_serving_one_its_gguf_keys(
    cluster: Cluster,
) -> None:
    await cluster.start_balancer()
    cluster.start_agent("agent-0")
    agents = await cluster.wait_for_agents(lambda agents: len(agents) == 1, "the agent to register")
    base = f"{cluster.management_url}/api/v1/agent"

    unknown = await cluster.http.get(f"{base}/nobody/model_metadata")
    before = await cluster.http.get(f"{base}/{agents[0]['id']}/model_metadata")
    await cluster.serve_smollm2(agents=0)
    await cluster.wait_for_serving_agents(1)
    after = await cluster.http.get(f"{base}/{agents[0]['id']}/model_metadata")
    override = await cluster.http.get(f"{base}/{agents[0]['id']}/chat_template_override")

    assert unknown.status_code == 404
    assert "nobody" in unknown.json()["error"]["description"]
    assert before.status_code == 200
    assert before.json() is None
    assert after.json()["metadata"]["general.architecture"] == "llama"
    assert "tokenizer.chat_template" in after.json()["metadata"]
    assert override.json() is None
