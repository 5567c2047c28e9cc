"""Hostile images on the inference API of an agent with a multimodal projection: each gets a clear
answer (Paddler's ImageDecodingFailed, a 400 for a part type the API does not know), a good image
is answered with its image tokens counted, and the agent keeps serving."""

import base64
from pathlib import Path
from typing import Any

import orjson

from tests.image_data_urls import image_data_url, image_message
from tests.integration.conftest import Cluster, smollm2_state
from tests.random_projector import IMAGE_TOKENS

ENDPOINT = "/api/v1/continue_from_conversation_history"


async def generate(cluster: Cluster, message: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    response = await cluster.http.post(
        f"{cluster.inference_url}{ENDPOINT}",
        json={"conversation_history": [message], "max_tokens": 4, "enable_thinking": False},
    )
    lines = [orjson.loads(line) for line in response.text.splitlines() if line] if response.is_success else []
    return response.status_code, lines


def last_token(lines: list[dict[str, Any]]) -> dict[str, Any]:
    token: dict[str, Any] = lines[-1]["Response"]["response"]["GeneratedToken"]
    return token


async def test_bad_images_and_unknown_parts_get_clear_errors_and_the_agent_keeps_serving(
    cluster: Cluster, random_projector: Path
) -> None:
    await cluster.start_balancer()
    await cluster.put_state(
        {**smollm2_state(), "multimodal_projection": {"LocalToAgent": str(random_projector)}}
    )
    cluster.start_agent("agent-0", 2)
    await cluster.wait_for_serving_agents(1)
    corrupt = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\xff" * 512).decode()

    status, lines = await generate(cluster, image_message(corrupt))
    assert status == 200
    assert "Failed to decode the image" in last_token(lines)["ImageDecodingFailed"]

    status, lines = await generate(cluster, image_message("https://example.invalid/cat.png"))
    assert "Remote image URLs are not supported" in last_token(lines)["ImageDecodingFailed"]

    unknown = {"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "AAAA"}}]}
    status, _ = await generate(cluster, unknown)
    assert status == 400

    status, lines = await generate(cluster, image_message(image_data_url(seed=9)))
    assert last_token(lines)["Done"]["usage"]["input_image_tokens"] == IMAGE_TOKENS

    await cluster.assert_agents_alive_and_serving()
