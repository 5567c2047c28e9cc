import asyncio

import orjson
import websockets

from tests.integration.conftest import Cluster, chat_prompt


def request(request_id: str, prompt: str, max_tokens: int) -> bytes:
    body = {"ContinueFromRawPrompt": {"raw_prompt": chat_prompt(prompt), "max_tokens": max_tokens}}
    return orjson.dumps({"Request": {"id": request_id, "request": body}})


async def test_stop_responding_to_ends_one_request_and_keeps_the_socket_serving(cluster: Cluster) -> None:
    await cluster.start_balancer()
    await cluster.serve_smollm2(agents=1, slots=2)

    async with websockets.connect(f"ws://{cluster.inference_addr}/api/v1/inference_socket") as socket:
        await socket.send(request("long", "Write a long story about a dragon.", 900))
        first = orjson.loads(await socket.recv())
        assert first["Response"]["request_id"] == "long"
        await socket.send(orjson.dumps({"Notification": {"StopRespondingTo": "long"}}))
        await cluster.wait_for_agents(
            lambda agents: agents[0]["slots_processing"] == 0, "the slot to be free", timeout_s=3
        )
        await socket.send(request("short", "Say hello.", 3))
        while True:
            message = orjson.loads(await asyncio.wait_for(socket.recv(), 10))
            if message["Response"]["request_id"] == "short" and "Done" in message["Response"]["response"].get(
                "GeneratedToken", {}
            ):
                break
