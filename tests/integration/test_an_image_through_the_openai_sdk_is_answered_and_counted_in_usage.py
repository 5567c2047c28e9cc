"""An agent with a multimodal projection answers an OpenAI chat with a base64 image."""

from pathlib import Path

import openai

from tests.image_data_urls import image_data_url
from tests.integration.conftest import Cluster, smollm2_state
from tests.random_projector import IMAGE_TOKENS


async def test_an_image_through_the_openai_sdk_is_answered_and_counted_in_usage(
    cluster: Cluster, random_projector: Path
) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.put_state(
        {**smollm2_state(), "multimodal_projection": {"LocalToAgent": str(random_projector)}}
    )
    cluster.start_agent("agent-0", 2)
    await cluster.wait_for_serving_agents(1)
    client = openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused", max_retries=0)

    completion = await client.chat.completions.create(
        model="any",
        max_tokens=8,
        temperature=0,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this picture?"},
                    {"type": "image_url", "image_url": {"url": image_data_url(seed=5, image_format="JPEG")}},
                ],
            }
        ],
    )

    assert completion.choices[0].message.content
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > IMAGE_TOKENS
    await client.close()
