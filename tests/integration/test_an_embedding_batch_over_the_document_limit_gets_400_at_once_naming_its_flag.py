"""--max-embedding-batch-documents bounds an embedding batch on both APIs: one document more is
refused before anything reaches an agent, with the flag named; a batch at the limit is served."""

import openai
import orjson
import pytest

from tests.integration.conftest import Cluster

LIMIT = 8


def batch(documents: int) -> dict[str, object]:
    return {
        "input_batch": [{"id": str(index), "content": f"document {index}"} for index in range(documents)],
        "normalization_method": "L2",
    }


async def test_an_embedding_batch_over_the_document_limit_gets_400_at_once_naming_its_flag(
    cluster: Cluster,
) -> None:
    await cluster.start_balancer(
        "--compat-openai-addr", cluster.openai_addr, "--max-embedding-batch-documents", str(LIMIT)
    )
    url = f"{cluster.inference_url}/api/v1/generate_embedding_batch"
    client = openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused", max_retries=0)

    # At once: refused on the count alone, before the balancer even looks for an agent.
    over = await cluster.http.post(url, json=batch(LIMIT + 1))
    assert over.status_code == 400, over.text
    assert "--max-embedding-batch-documents" in over.json()["error"]["description"]
    assert f"{LIMIT + 1} documents" in over.json()["error"]["description"]
    with pytest.raises(openai.BadRequestError, match="--max-embedding-batch-documents"):
        await client.embeddings.create(model="m", input=[f"document {index}" for index in range(LIMIT + 1)])

    await cluster.serve_smollm2(agents=1, slots=1, enable_embeddings=True, pooling_type="Mean")
    at_limit = await cluster.http.post(url, json=batch(LIMIT))
    assert at_limit.status_code == 200, at_limit.text
    lines = [orjson.loads(line)["Response"]["response"] for line in at_limit.text.splitlines()]
    assert len(lines) == LIMIT + 1
    assert lines[-1] == {"Embedding": "Done"}
    served = await client.embeddings.create(model="m", input=[f"document {index}" for index in range(LIMIT)])
    assert len(served.data) == LIMIT
    over_again = await cluster.http.post(url, json=batch(LIMIT + 1))
    assert over_again.status_code == 400, over_again.text
    await client.close()

    await cluster.assert_agents_alive_and_serving()
