from typing import Any

import orjson
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.integration.conftest import Cluster, wait_until

LIMITS = (
    "--max-tokens-limit",
    "8",
    "--max-conversation-messages",
    "3",
    "--max-conversation-chars",
    "100",
    "--max-body-bytes",
    "4096",
    "--max-websocket-frame-bytes",
    "4096",
    "--max-sockets-per-client",
    "2",
)


def conversation(*texts: str, max_tokens: int = 2) -> dict[str, Any]:
    return {
        "conversation_history": [{"role": "user", "content": text} for text in texts],
        "enable_thinking": False,
        "max_tokens": max_tokens,
    }


async def start(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr, *LIMITS)
    cluster.start_simulated_agents("simulated")
    await cluster.wait_for_agents(lambda agents: len(agents) == 1, "the simulated agent")


async def test_http_requests_beyond_a_limit_get_400_or_413_naming_the_flag(cluster: Cluster) -> None:
    await start(cluster)
    inference = cluster.inference_url + "/api/v1"
    refused = {
        "--max-tokens-limit": ("continue_from_raw_prompt", {"raw_prompt": "Hi", "max_tokens": 9}),
        "--max-conversation-messages": (
            "continue_from_conversation_history",
            conversation("a", "b", "c", "d"),
        ),
        "--max-conversation-chars": ("continue_from_conversation_history", conversation("x" * 60, "y" * 41)),
    }
    for flag, (path, body) in refused.items():
        response = await cluster.http.post(f"{inference}/{path}", json=body)
        assert response.status_code == 400, response.text
        assert flag in response.json()["error"]["description"]
    too_large = await cluster.http.post(
        f"{inference}/continue_from_raw_prompt", json={"raw_prompt": "x" * 5000, "max_tokens": 1}
    )
    assert too_large.status_code == 413
    assert "4096 bytes" in too_large.json()["error"]["description"]

    # "No limit" means the ceiling: the simulated agent generates exactly what it is asked for.
    unlimited = await cluster.http.post(
        f"{inference}/continue_from_raw_prompt", json={"raw_prompt": "Hi", "max_tokens": -1}
    )
    done = orjson.loads(unlimited.text.splitlines()[-1])["Response"]["response"]["GeneratedToken"]["Done"]
    assert done["usage"]["content_tokens"] == 8

    chat = {"model": "any", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 9}
    openai_refused = await cluster.http.post(f"{cluster.openai_url}/chat/completions", json=chat)
    assert openai_refused.status_code == 400
    assert "--max-tokens-limit" in openai_refused.json()["error"]["message"]
    # OpenAI's default max_tokens (16 for completions) is not the client's choice: kept within the ceiling.
    completion = await cluster.http.post(
        f"{cluster.openai_url}/completions", json={"model": "any", "prompt": "Hi"}
    )
    assert completion.status_code == 200, completion.text
    assert completion.json()["usage"]["completion_tokens"] == 8
    long_chat = {"model": "any", "messages": [{"role": "user", "content": "z" * 101}]}
    openai_long = await cluster.http.post(f"{cluster.openai_url}/chat/completions", json=long_chat)
    assert "--max-conversation-chars" in openai_long.json()["error"]["message"]


async def test_socket_limits_close_or_refuse_one_socket_and_spare_the_others(cluster: Cluster) -> None:
    await start(cluster)
    url = f"ws://{cluster.inference_addr}/api/v1/inference_socket"
    request: dict[str, Any] = {
        "Request": {"id": "big", "request": {"ContinueFromRawPrompt": {"raw_prompt": "Hi", "max_tokens": 9}}}
    }

    async with websockets.connect(url) as first, websockets.connect(url) as second:
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(url)
        assert refused.value.response.status_code == 429
        assert b"--max-sockets-per-client" in refused.value.response.body

        await first.send(orjson.dumps(request))
        answer = orjson.loads(await first.recv())
        assert answer["Error"]["request_id"] == "big"
        assert answer["Error"]["error"]["code"] == 400
        assert "--max-tokens-limit" in answer["Error"]["error"]["description"]

        # A frame above --max-websocket-frame-bytes closes its socket with 1009, and only that one.
        await first.send("x" * 5000)
        with pytest.raises(ConnectionClosed) as closed:
            await first.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009
        request["Request"]["id"] = "fits"
        request["Request"]["request"]["ContinueFromRawPrompt"]["max_tokens"] = 1
        await second.send(orjson.dumps(request))
        assert "Response" in orjson.loads(await second.recv())

    # Both closed: the address may open sockets again (once the server has seen them end).
    async def third_socket_answers() -> bool:
        try:
            async with websockets.connect(url) as third:
                await third.send(orjson.dumps(request))
                return "Response" in orjson.loads(await third.recv())
        except InvalidStatus:
            return False

    await wait_until(third_socket_answers, 5.0, "a socket accepted after the others closed")
