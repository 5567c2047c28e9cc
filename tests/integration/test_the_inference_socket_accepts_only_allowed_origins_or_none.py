import orjson
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.integration.conftest import GENERATION_BODIES, Cluster

ALLOWED = "http://panel.example"
REQUEST = {
    "Request": {
        "id": "r",
        "request": {"ContinueFromRawPrompt": GENERATION_BODIES["/api/v1/continue_from_raw_prompt"]},
    }
}


async def completes(socket: websockets.ClientConnection) -> bool:
    await socket.send(orjson.dumps(REQUEST))
    while True:
        response = orjson.loads(await socket.recv())["Response"]["response"]
        if "Done" in response.get("GeneratedToken", {}):
            return True


async def test_the_inference_socket_accepts_only_allowed_origins_or_none(cluster: Cluster) -> None:
    await cluster.start_balancer("--inference-cors-allowed-host", ALLOWED)
    await cluster.serve_smollm2()
    socket_url = f"ws://{cluster.inference_addr}/api/v1/inference_socket"

    for origin in ("https://evil.example", "http://panel.example:8080", "null"):
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(socket_url, origin=websockets.Origin(origin))
        assert refused.value.response.status_code == 403
        assert b"--inference-cors-allowed-host" in refused.value.response.body

    # A page of an allowed origin, and a program (no Origin at all).
    async with websockets.connect(socket_url, origin=websockets.Origin(ALLOWED)) as socket:
        assert await completes(socket)
    async with websockets.connect(socket_url) as socket:
        assert await completes(socket)
    await cluster.assert_agents_alive_and_serving()
