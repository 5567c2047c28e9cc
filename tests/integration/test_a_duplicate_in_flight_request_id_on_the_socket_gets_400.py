import orjson
import websockets

from tests.integration.conftest import Cluster, chat_prompt


async def test_a_duplicate_in_flight_request_id_on_the_socket_gets_400(cluster: Cluster) -> None:
    await cluster.start_balancer()
    await cluster.serve_smollm2(agents=1, slots=2)
    body = {"ContinueFromRawPrompt": {"raw_prompt": chat_prompt("Write a long story."), "max_tokens": 200}}
    frame = orjson.dumps({"Request": {"id": "same", "request": body}})

    async with websockets.connect(f"ws://{cluster.inference_addr}/api/v1/inference_socket") as socket:
        await socket.send(frame)
        await socket.send(frame)
        while True:
            message = orjson.loads(await socket.recv())
            if "Error" in message:
                break

    assert message["Error"]["request_id"] == "same"
    assert message["Error"]["error"]["code"] == 400
    assert "already in flight" in message["Error"]["error"]["description"]
