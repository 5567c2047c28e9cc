"""As in Paddler: with `enable_embeddings` off in the desired state, a batch is refused before
it waits for a slot (501), on the inference API and on the OpenAI API alike."""

import openai
import pytest

from tests.integration.conftest import Cluster


async def test_an_embedding_batch_while_embeddings_are_off_gets_501_at_once(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.serve_smollm2(agents=1, slots=1, enable_embeddings=False)
    client = openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused", max_retries=0)

    answer = await cluster.http.post(
        f"{cluster.inference_url}/api/v1/generate_embedding_batch",
        json={"input_batch": [{"id": "a", "content": "A red apple."}], "normalization_method": "L2"},
    )
    with pytest.raises(openai.APIStatusError) as raised:
        await client.embeddings.create(model="m", input="A red apple.")
    await client.close()

    assert answer.status_code == 501
    assert "enable_embeddings" in answer.text
    assert raised.value.status_code == 501
    assert "enable_embeddings" in raised.value.message
