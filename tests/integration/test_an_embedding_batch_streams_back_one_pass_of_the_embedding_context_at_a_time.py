"""The agent computes a batch one pass of its embedding context at a time (at most 64 documents)
and sends each pass before computing the next: however many documents a batch has, it never
holds more than one pass's vectors, and the first vectors reach the client while the rest are
still being computed (they used to come all at once, after the whole batch)."""

import time

import orjson

from tests.integration.conftest import Cluster

PASSES = 5
# One pass takes 64 documents: the native runner's sequences per pass.
DOCUMENTS = 64 * PASSES


async def test_an_embedding_batch_streams_back_one_pass_of_the_embedding_context_at_a_time(
    cluster: Cluster,
) -> None:
    await cluster.start_balancer()
    await cluster.serve_smollm2(agents=1, slots=1, enable_embeddings=True, pooling_type="Mean")
    body = {
        "input_batch": [{"id": str(index), "content": "a"} for index in range(DOCUMENTS)],
        "normalization_method": "L2",
    }

    arrivals: list[float] = []
    ids: set[str] = set()
    started = time.monotonic()
    async with cluster.http.stream(
        "POST", f"{cluster.inference_url}/api/v1/generate_embedding_batch", json=body
    ) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line:
                arrivals.append(time.monotonic() - started)
                embedding = orjson.loads(line)["Response"]["response"]["Embedding"]
                if embedding != "Done":
                    ids.add(embedding["Embedding"]["source_document_id"])

    assert ids == {str(index) for index in range(DOCUMENTS)}
    assert len(arrivals) == DOCUMENTS + 1
    # The first pass is out after about a fifth of the time the batch takes.
    assert arrivals[0] < arrivals[-1] / 2, (arrivals[0], arrivals[-1])
