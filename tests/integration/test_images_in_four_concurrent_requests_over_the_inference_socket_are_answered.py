"""Four image requests at once over one inference socket, on an agent with four slots and a
multimodal projection: each ends with Done and its image tokens counted, and a corrupt image sent
with them ends alone with ImageDecodingFailed."""

import base64
from pathlib import Path
from typing import Any

import orjson
import websockets

from tests.image_data_urls import image_data_url, image_message
from tests.integration.conftest import Cluster, smollm2_state
from tests.random_projector import IMAGE_TOKENS


def request_frame(request_id: str, url: str) -> bytes:
    body = {
        "ContinueFromConversationHistory": {
            "conversation_history": [image_message(url)],
            "enable_thinking": False,
            "max_tokens": 8,
        }
    }
    return orjson.dumps({"Request": {"id": request_id, "request": body}})


async def test_images_in_four_concurrent_requests_over_the_inference_socket_are_answered(
    cluster: Cluster, random_projector: Path
) -> None:
    await cluster.start_balancer()
    await cluster.put_state(
        {**smollm2_state(), "multimodal_projection": {"LocalToAgent": str(random_projector)}}
    )
    cluster.start_agent("agent-0", 4)
    await cluster.wait_for_serving_agents(1)
    corrupt = "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8\xff\xe0" + b"\x00" * 256).decode()
    ends: dict[str, dict[str, Any]] = {}

    async with websockets.connect(f"ws://{cluster.inference_addr}/api/v1/inference_socket") as socket:
        for number in range(4):
            await socket.send(request_frame(f"image-{number}", image_data_url(seed=40 + number)))
        await socket.send(request_frame("corrupt", corrupt))
        while len(ends) < 5:
            message = orjson.loads(await socket.recv())
            assert "Response" in message, message
            response = message["Response"]
            token = response["response"]["GeneratedToken"]
            if "Done" in token or "ImageDecodingFailed" in token:
                ends[response["request_id"]] = token

    for number in range(4):
        assert ends[f"image-{number}"]["Done"]["usage"]["input_image_tokens"] == IMAGE_TOKENS
    assert "Failed to decode the image" in ends["corrupt"]["ImageDecodingFailed"]
    await cluster.assert_agents_alive_and_serving()
