from typing import Any

import orjson
import pytest
import websockets

from tests.integration.conftest import GENERATION_BODIES, Cluster

VALID: dict[str, dict[str, Any]] = {
    "/api/v1/balancer_desired_state": {"model": "None"},
    **GENERATION_BODIES,
    "/api/v1/generate_embedding_batch": {
        "input_batch": [{"id": "1", "content": "Hi"}],
        "normalization_method": "L2",
    },
}
WRONG_TYPES = {
    "/api/v1/balancer_desired_state": ("use_chat_template_override", "yes"),
    "/api/v1/continue_from_raw_prompt": ("max_tokens", "10"),
    "/api/v1/continue_from_conversation_history": ("conversation_history", "Hi"),
    "/api/v1/generate_embedding_batch": ("input_batch", {"id": "1"}),
}
OVERSIZED = b'{"raw_prompt": "' + b"x" * (33 * 1024 * 1024) + b'", "max_tokens": 1}'
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("path", list(VALID))
async def test_bad_bodies_get_400_or_413_with_a_message_on_every_endpoint(
    cluster: Cluster, path: str
) -> None:
    if cluster.balancer is None:
        await cluster.start_balancer()
    base = cluster.management_url if path.endswith("desired_state") else cluster.inference_url
    method = "PUT" if path.endswith("desired_state") else "POST"
    field, wrong_value = WRONG_TYPES[path]
    cases = {
        b"{": "malformed JSON",
        b"": "the body is empty",
        orjson.dumps({**VALID[path], "surprise": 1}): "unknown field `surprise`",
        orjson.dumps({**VALID[path], field: wrong_value}): f"`{field}",
    }

    for body, message in cases.items():
        response = await cluster.http.request(method, f"{base}{path}", content=body, headers=JSON)
        assert response.status_code == 400, (body, response.text)
        assert message in response.json()["error"]["description"], (body, response.text)
    oversized = await cluster.http.request(method, f"{base}{path}", content=OVERSIZED, headers=JSON)
    assert oversized.status_code == 413
    assert "larger than the limit" in oversized.json()["error"]["description"]
    health = await cluster.http.get(f"{cluster.inference_url}/health")
    assert health.text == "OK"


async def test_bad_frames_on_the_inference_socket_get_400_and_the_socket_stays_open(cluster: Cluster) -> None:
    await cluster.start_balancer("--buffered-request-timeout", "200")
    request = {"ContinueFromRawPrompt": {"raw_prompt": "Hi", "max_tokens": 1}}
    frames = {
        b"{": "malformed JSON",
        orjson.dumps({"Request": {"id": "a", "request": request, "x": 1}}): "unknown field `Request.x`",
        orjson.dumps({"Request": {"id": "b", "request": {"Sing": {}}}}): "unknown or missing variant",
        orjson.dumps({"Request": {"id": 5, "request": request}}): "`Request.id`",
    }

    async with websockets.connect(f"ws://{cluster.inference_addr}/api/v1/inference_socket") as socket:
        for frame, message in frames.items():
            await socket.send(frame)
            answer = orjson.loads(await socket.recv())
            assert answer["Error"]["error"]["code"] == 400
            assert message in answer["Error"]["error"]["description"]
        # Still serving: a valid request gets its (timeout) answer.
        await socket.send(orjson.dumps({"Request": {"id": "ok", "request": request}}))
        answer = orjson.loads(await socket.recv())
    assert answer == {"Response": {"request_id": "ok", "generated_by": None, "response": "Timeout"}}
