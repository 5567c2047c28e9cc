from pathlib import Path

from tests.integration.conftest import Cluster, smollm2_state


async def test_an_agents_model_metadata_lists_its_multimodal_projections_keys(
    cluster: Cluster, random_projector: Path
) -> None:
    await cluster.start_balancer()
    await cluster.put_state(
        {**smollm2_state(), "multimodal_projection": {"LocalToAgent": str(random_projector)}}
    )
    cluster.start_agent("agent-0", 1)
    agents = await cluster.wait_for_serving_agents(1)

    response = await cluster.http.get(
        f"{cluster.management_url}/api/v1/agent/{agents[0]['id']}/model_metadata"
    )

    metadata = response.json()["metadata"]
    assert metadata["general.architecture"] == "llama"  # the model's own keys, as before
    assert metadata["mmproj.general.architecture"] == "clip"
    assert metadata["mmproj.clip.projector_type"] == "mlp"
    assert metadata["mmproj.clip.vision.projection_dim"] == "576"
