import httpx
import openai
import orjson
import pytest
import websockets

from tests.integration.conftest import GENERATION_BODIES, Cluster, chat_prompt, smollm2_state, token_text
from tests.integration.tls_certificates import make_tls_certificates


async def test_a_balancer_with_tls_serves_every_service_over_https_and_its_agents_over_wss(
    cluster: Cluster,
) -> None:
    tls = make_tls_certificates(cluster.tmp_path)
    trusted = tls.trusting_context()
    plain = cluster.http
    cluster.scheme = "https"
    cluster.http = httpx.AsyncClient(verify=trusted, timeout=30.0)
    try:
        balancer = await cluster.start_balancer(
            *tls.balancer_flags(), "--compat-openai-addr", cluster.openai_addr
        )
        assert f"inference https://{cluster.inference_addr}" in balancer.output()
        await cluster.put_state(smollm2_state())
        wss = f"wss://{cluster.management_addr}"
        cluster.start_agent("agent-0", extra=("--management-addr", wss, "--tls-ca", str(tls.ca)))
        await cluster.wait_for_serving_agents(1)

        # NDJSON over https.
        assert token_text(await cluster.raw_prompt_lines(chat_prompt("Say hello."), max_tokens=3))
        # The OpenAI API over https.
        async with openai.AsyncOpenAI(
            base_url=cluster.openai_url,
            api_key="none",
            http_client=openai.DefaultAsyncHttpxClient(verify=trusted),
        ) as client:
            completion = await client.chat.completions.create(
                model="any", messages=[{"role": "user", "content": "Hi"}], max_tokens=3
            )
        assert completion.choices[0].finish_reason == "length"
        # The inference socket over wss, through the server's own frame reading and writing.
        request = {
            "Request": {
                "id": "r",
                "request": {"ContinueFromRawPrompt": GENERATION_BODIES["/api/v1/continue_from_raw_prompt"]},
            }
        }
        socket_url = f"wss://{cluster.inference_addr}/api/v1/inference_socket"
        async with websockets.connect(socket_url, ssl=trusted) as socket:
            await socket.send(orjson.dumps(request))
            while True:
                response = orjson.loads(await socket.recv())["Response"]["response"]
                if "Done" in response.get("GeneratedToken", {}):
                    break

        # Plain http to a TLS port gets no answer at all.
        for address in (cluster.inference_addr, cluster.management_addr, cluster.openai_addr):
            with pytest.raises(httpx.TransportError):
                await plain.get(f"http://{address}/health")
        await cluster.assert_agents_alive_and_serving()
    finally:
        await cluster.http.aclose()
