import math

import orjson
import pytest

from tests.integration.conftest import Cluster


async def test_an_embedding_batch_gets_one_normalized_vector_per_document(cluster: Cluster) -> None:
    await cluster.start_balancer()
    await cluster.serve_smollm2(agents=1, enable_embeddings=True, pooling_type="Mean")

    response = await cluster.http.post(
        f"{cluster.inference_url}/api/v1/generate_embedding_batch",
        json={
            "input_batch": [
                {"id": "a", "content": "A red apple."},
                {"id": "b", "content": "The stock market."},
            ],
            "normalization_method": "L2",
        },
    )

    assert response.status_code == 200, response.text
    results = [orjson.loads(line)["Response"]["response"]["Embedding"] for line in response.text.splitlines()]
    embeddings = {result["Embedding"]["source_document_id"]: result["Embedding"] for result in results[:-1]}
    assert results[-1] == "Done"
    assert set(embeddings) == {"a", "b"}
    for embedding in embeddings.values():
        assert len(embedding["embedding"]) == 576
        assert math.sqrt(sum(x * x for x in embedding["embedding"])) == pytest.approx(1.0, abs=1e-4)
        assert embedding["pooling_type"] == "Mean"
        assert embedding["normalization_method"] == "L2"
