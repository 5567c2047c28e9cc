"""Paddler's OpenAI service passes `image_url` content parts on to the agent (for a multimodal
model), as its own API does. SmolLM2 has no projector, so the agent's answer proves the image
got there: the engine's MultimodalNotSupported (400: a text model was sent an image), not a refusal
of the request's shape."""

import openai
import pytest

from tests.integration.conftest import Cluster

# A 1x1 PNG.
PIXEL = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


async def test_an_image_in_an_openai_chat_reaches_the_agent(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.serve_smollm2(agents=1, slots=1)
    client = openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused", max_retries=0)

    with pytest.raises(openai.BadRequestError) as raised:
        await client.chat.completions.create(
            model="any",
            max_tokens=4,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is in this picture?"},
                        {"type": "image_url", "image_url": {"url": PIXEL, "detail": "low"}},
                    ],
                }
            ],
        )

    assert raised.value.status_code == 400
    assert "MultimodalNotSupported" in raised.value.message
    await client.close()
