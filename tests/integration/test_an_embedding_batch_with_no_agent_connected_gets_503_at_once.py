"""Paddler refuses an embedding batch with 503 before streaming when no agent is connected
(generation requests wait in the buffer instead); the official client raises HttpError(503)."""

import time

import pytest
from paddler_client import ClientInference
from paddler_client.embedding_input_document import EmbeddingInputDocument
from paddler_client.embedding_normalization_method import EmbeddingNormalizationMethod
from paddler_client.error import HttpError
from paddler_client.generate_embedding_batch_params import GenerateEmbeddingBatchParams

from tests.integration.conftest import Cluster


async def test_an_embedding_batch_with_no_agent_connected_gets_503_at_once(cluster: Cluster) -> None:
    # A long buffer wait: an answer that came from the buffer would take this long.
    await cluster.start_balancer("--buffered-request-timeout", "20000")
    params = GenerateEmbeddingBatchParams(
        input_batch=[EmbeddingInputDocument(id="a", content="A red apple.")],
        normalization_method=EmbeddingNormalizationMethod.l2(),
    )

    started = time.monotonic()
    async with ClientInference(cluster.inference_url) as client:
        with pytest.raises(HttpError) as raised:
            async for _message in client.generate_embedding_batch(params):
                pass

    assert raised.value.status_code == 503
    assert "no agents are connected" in raised.value.message
    assert time.monotonic() - started < 5
