import asyncio

import orjson
import websockets

from tests.integration.conftest import Cluster, chat_prompt, wait_until


async def test_buffer_overflow_answers_503_and_too_many_buffered_requests(cluster: Cluster) -> None:
    # No agent: the one buffered request fills the buffer.
    await cluster.start_balancer("--max-buffered-requests", "1", "--buffered-request-timeout", "20000")
    first = asyncio.create_task(cluster.raw_prompt_lines(chat_prompt("Hi"), max_tokens=2))

    async def buffered() -> bool:
        response = await cluster.http.get(f"{cluster.management_url}/api/v1/buffered_requests")
        return bool(response.json()["buffered_requests_current"] == 1)

    await wait_until(buffered, what="the first request to be buffered")

    overflow = await cluster.raw_prompt_lines(chat_prompt("Hi"), max_tokens=2)
    async with websockets.connect(f"ws://{cluster.inference_addr}/api/v1/inference_socket") as socket:
        request = {"ContinueFromRawPrompt": {"raw_prompt": "Hi", "max_tokens": 2}}
        await socket.send(orjson.dumps({"Request": {"id": "over", "request": request}}))
        socket_answer = orjson.loads(await socket.recv())

    assert len(overflow) == 1
    assert overflow[0]["Error"]["error"] == {"code": 503, "description": "too many buffered requests"}
    assert socket_answer == {
        "Response": {"request_id": "over", "generated_by": None, "response": "TooManyBufferedRequests"}
    }
    first.cancel()
