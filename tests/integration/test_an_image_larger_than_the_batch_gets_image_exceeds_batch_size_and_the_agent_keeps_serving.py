"""Paddler's oversized image: an image whose tokens do not fit the agent's n_batch ends with
ImageExceedsBatchSize and its details, never a crash; the agent keeps serving."""

from pathlib import Path

import orjson

from tests.image_data_urls import image_data_url, image_message
from tests.integration.conftest import Cluster, smollm2_state
from tests.random_projector import IMAGE_TOKENS


async def test_an_image_larger_than_the_batch_gets_image_exceeds_batch_size_and_the_agent_keeps_serving(
    cluster: Cluster, random_projector: Path
) -> None:
    await cluster.start_balancer()
    state = smollm2_state(n_batch=32)
    await cluster.put_state({**state, "multimodal_projection": {"LocalToAgent": str(random_projector)}})
    cluster.start_agent("agent-0", 1)
    await cluster.wait_for_serving_agents(1)

    response = await cluster.http.post(
        f"{cluster.inference_url}/api/v1/continue_from_conversation_history",
        json={"conversation_history": [image_message(image_data_url(seed=1))], "max_tokens": 4},
    )

    assert response.status_code == 200
    last = orjson.loads(response.text.splitlines()[-1])
    details = last["Response"]["response"]["GeneratedToken"]["ImageExceedsBatchSize"]
    assert details == {"image_tokens": IMAGE_TOKENS, "n_batch": 32}
    await cluster.assert_agents_alive_and_serving()
