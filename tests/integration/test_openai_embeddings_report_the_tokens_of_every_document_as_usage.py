"""/v1/embeddings reports usage as the tokens the agents embedded, over every document of a
batch split across agents; Paddler's API gets exactly Paddler's Embedding, no count in it."""

import openai
import orjson

from paddler.agent import EngineConfig, InferenceEngine
from tests.integration.conftest import Cluster
from tests.model_cards import smollm2

DOCUMENTS = ["A red apple.", "The stock market fell sharply on Monday.", "Hi", "Ein Apfel ist rot. " * 5]


async def test_openai_embeddings_report_the_tokens_of_every_document_as_usage(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.serve_smollm2(agents=2, slots=1, enable_embeddings=True, pooling_type="Mean")
    client = openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused", max_retries=0)

    result = await client.embeddings.create(model="m", input=DOCUMENTS)
    one = await client.embeddings.create(model="m", input=DOCUMENTS[1])
    await client.close()
    paddler = await cluster.http.post(
        f"{cluster.inference_url}/api/v1/generate_embedding_batch",
        json={
            "input_batch": [{"id": str(index), "content": text} for index, text in enumerate(DOCUMENTS)],
            "normalization_method": "L2",
        },
    )
    # The agent counts a document's tokens as it embeds it: with the model's special tokens.
    engine = await InferenceEngine.load(str(smollm2()), EngineConfig(context_size=256, slots=1, threads=1))
    lengths = [len(engine.tokenize(text, add_special=True, parse_special=False)) for text in DOCUMENTS]
    await engine.close()

    assert result.usage.prompt_tokens == sum(lengths)
    assert result.usage.total_tokens == sum(lengths)
    assert one.usage.prompt_tokens == one.usage.total_tokens == lengths[1]
    assert paddler.status_code == 200, paddler.text
    responses = [orjson.loads(line)["Response"] for line in paddler.text.splitlines()]
    # Split across both agents, each counting its own part.
    assert {response["generated_by"] for response in responses[:-1]} == {"agent-0", "agent-1"}
    for response in responses[:-1]:
        embedding = response["response"]["Embedding"]["Embedding"]
        assert set(embedding) == {"embedding", "normalization_method", "pooling_type", "source_document_id"}
    assert responses[-1]["response"] == {"Embedding": "Done"}
