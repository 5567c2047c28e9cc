"""An embedding batch that fails on the server's side is a 5xx on both APIs, never the 400 of a
client's mistake: here its agent stops answering (SIGSTOP) and the item timeout ends the batch
with 504. (A failure of llama.cpp while computing is the agent's INTERNAL_ERROR, a 500, tried
once on another agent first; a document the agent refuses stays the client's 400.)"""

import signal

import openai
import pytest

from tests.integration.conftest import Cluster


async def test_an_embedding_the_server_fails_to_compute_gets_a_5xx_not_a_400(cluster: Cluster) -> None:
    await cluster.start_balancer(
        "--compat-openai-addr", cluster.openai_addr, "--inference-item-timeout", "1500"
    )
    await cluster.serve_smollm2(agents=1, slots=1, enable_embeddings=True, pooling_type="Mean")
    client = openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused", max_retries=0)
    [agent] = cluster.agents

    # The client's mistakes: 400.
    for document in ("", "word " * 300):
        with pytest.raises(openai.BadRequestError, match="document"):
            await client.embeddings.create(model="m", input=["fine", document])

    agent.popen.send_signal(signal.SIGSTOP)
    try:
        with pytest.raises(openai.InternalServerError) as raised:
            await client.embeddings.create(model="m", input=["A red apple.", "Stock markets."])
        ndjson = await cluster.http.post(
            f"{cluster.inference_url}/api/v1/generate_embedding_batch",
            json={"input_batch": [{"id": "a", "content": "A red apple."}], "normalization_method": "L2"},
        )
    finally:
        agent.popen.send_signal(signal.SIGCONT)
    await client.close()

    assert raised.value.status_code == 504
    assert "sent nothing" in raised.value.message
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["type"] == "server_error"
    error = ndjson.json()["Error"]["error"]
    assert error["code"] == 504, error
    await cluster.assert_agents_alive_and_serving()
