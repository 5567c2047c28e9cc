import base64
import math
import struct

import openai
import pytest

from tests.integration.conftest import Cluster


async def test_the_openai_sdk_gets_embeddings(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.serve_smollm2(
        agents=1, enable_embeddings=True, pooling_type="Mean", embedding_batch_size=64
    )
    client = openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused", max_retries=0)

    result = await client.embeddings.create(
        model="m", input=["A red apple.", "A red apple.", "Stock markets."]
    )
    packed = await client.embeddings.create(model="m", input="A red apple.", encoding_format="base64")
    with pytest.raises(openai.BadRequestError, match="embedding batch size"):
        await client.embeddings.create(model="m", input="word " * 200)
    await client.close()

    first, same, other = (item.embedding for item in result.data)
    assert [item.index for item in result.data] == [0, 1, 2]
    assert len(first) == 576
    assert math.sqrt(sum(x * x for x in first)) == pytest.approx(1.0, abs=1e-4)
    assert same == pytest.approx(first, abs=1e-5)
    assert other != pytest.approx(first, abs=1e-3)
    # Asked for explicitly, base64 comes back as sent: little-endian float32.
    encoded = packed.data[0].embedding
    assert isinstance(encoded, str)
    raw = base64.b64decode(encoded)
    assert list(struct.unpack(f"<{len(raw) // 4}f", raw)) == pytest.approx(first, abs=1e-5)
