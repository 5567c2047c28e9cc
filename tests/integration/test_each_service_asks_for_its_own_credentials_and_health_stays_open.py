from typing import Any

import httpx
import openai
import orjson
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.integration.conftest import Cluster

INFERENCE_KEYS = ("first-inference-key", "second-inference-key")
MANAGEMENT_TOKEN = "management-token"
AGENT_SECRET = "agent-secret"
RAW_PROMPT = {"raw_prompt": "Hi", "max_tokens": 3}


async def last_frame(socket: websockets.ClientConnection) -> Any:
    while True:
        frame = orjson.loads(await socket.recv())
        response = frame["Response"]["response"]
        if "Done" in response.get("GeneratedToken", {}):
            return response["GeneratedToken"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def start(cluster: Cluster) -> None:
    await cluster.start_balancer(
        "--compat-openai-addr",
        cluster.openai_addr,
        "--inference-api-key",
        INFERENCE_KEYS[0],
        "--inference-api-key",
        INFERENCE_KEYS[1],
        "--management-token",
        MANAGEMENT_TOKEN,
        # From the environment: secrets need not be on command lines.
        env={"PADDLER_AGENT_SECRET": AGENT_SECRET},
    )
    cluster.http.headers.update(bearer(MANAGEMENT_TOKEN))
    cluster.start_simulated_agents("simulated", 1, 4, "--agent-secret", AGENT_SECRET)
    await cluster.wait_for_agents(lambda agents: len(agents) == 1, "the simulated agent")


async def test_each_service_asks_for_its_own_credentials_and_health_stays_open(cluster: Cluster) -> None:
    await start(cluster)
    async with httpx.AsyncClient(timeout=10.0) as anonymous:
        for url in (cluster.inference_url, cluster.management_url, f"http://{cluster.openai_addr}"):
            assert (await anonymous.get(f"{url}/health")).text == "OK"
            assert (await anonymous.get(f"{url}/openapi.json")).json()["openapi"] == "3.1.0"

        generate = f"{cluster.inference_url}/api/v1/continue_from_raw_prompt"
        missing = await anonymous.post(generate, json=RAW_PROMPT)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        assert "needs `Authorization: Bearer <inference API key>`" in missing.json()["error"]["description"]
        # The management token is not an inference key.
        wrong = await anonymous.post(generate, json=RAW_PROMPT, headers=bearer(MANAGEMENT_TOKEN))
        assert wrong.status_code == 401
        assert "not a valid inference API key" in wrong.json()["error"]["description"]
        for key in INFERENCE_KEYS:
            answered = await anonymous.post(generate, json=RAW_PROMPT, headers=bearer(key))
            assert answered.status_code == 200
            assert "Done" in answered.text.splitlines()[-1]

        agents = f"{cluster.management_url}/api/v1/agents"
        assert (await anonymous.get(agents)).status_code == 401
        assert (await anonymous.get(agents, headers=bearer(INFERENCE_KEYS[0]))).status_code == 401
        assert (await anonymous.get(agents, headers=bearer(MANAGEMENT_TOKEN))).status_code == 200
        # The SSE streams too.
        stream = f"{cluster.management_url}/api/v1/agents/stream"
        assert (await anonymous.get(stream)).status_code == 401
        async with anonymous.stream("GET", stream, headers=bearer(MANAGEMENT_TOKEN)) as events:
            assert events.status_code == 200
            first = await anext(events.aiter_lines())
        assert first.startswith("data: ")


async def test_the_openai_service_answers_401_in_its_error_shape_and_serves_the_sdk(cluster: Cluster) -> None:
    await start(cluster)
    chat = {"model": "any", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}
    async with httpx.AsyncClient(timeout=10.0) as anonymous:
        refused = await anonymous.post(f"{cluster.openai_url}/chat/completions", json=chat)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_api_key"
    assert "Authorization: Bearer" in refused.json()["error"]["message"]

    with pytest.raises(openai.AuthenticationError):
        async with openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="wrong", max_retries=0) as client:
            await client.chat.completions.create(model="any", messages=[{"role": "user", "content": "Hi"}])
    async with openai.AsyncOpenAI(
        base_url=cluster.openai_url, api_key=INFERENCE_KEYS[1], max_retries=0
    ) as client:
        completion = await client.chat.completions.create(
            model="any", messages=[{"role": "user", "content": "Hi"}], max_tokens=2
        )
    assert completion.choices[0].message.content == " tok tok"


async def test_sockets_check_credentials_on_the_handshake(cluster: Cluster) -> None:
    await start(cluster)
    socket_url = f"ws://{cluster.inference_addr}/api/v1/inference_socket"
    request = {"Request": {"id": "r", "request": {"ContinueFromRawPrompt": RAW_PROMPT}}}

    for url, headers in (
        (socket_url, {}),
        (f"{socket_url}?token=wrong", {}),
        (socket_url, bearer(MANAGEMENT_TOKEN)),
    ):
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(url, additional_headers=headers)
        assert refused.value.response.status_code == 401
        assert b"inference API key" in refused.value.response.body

    # A header, or a query parameter for browsers.
    for url, headers in (
        (socket_url, bearer(INFERENCE_KEYS[0])),
        (f"{socket_url}?token={INFERENCE_KEYS[1]}", {}),
    ):
        async with websockets.connect(url, additional_headers=headers) as socket:
            await socket.send(orjson.dumps(request))
            assert await last_frame(socket) == {"Done": {"usage": {"prompt_tokens": 1, "content_tokens": 3}}}

    agent_socket = f"ws://{cluster.management_addr}/api/v1/agent_socket/intruder"
    for headers in ({}, bearer(MANAGEMENT_TOKEN)):
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(agent_socket, additional_headers=headers)
        assert refused.value.response.status_code == 401
        assert b"--agent-secret" in refused.value.response.body
    # The query parameter is for the browser's inference socket only.
    with pytest.raises(InvalidStatus):
        await websockets.connect(f"{agent_socket}?token={AGENT_SECRET}")
    assert [agent["id"] for agent in await cluster.agents_snapshot()] == ["simulated-0"]
