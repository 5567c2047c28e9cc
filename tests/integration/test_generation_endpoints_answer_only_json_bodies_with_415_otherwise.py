"""A page on another site may post a form or text/plain to the operator's balancer without a CORS
preflight, but not `application/json`: the generation endpoints take JSON bodies only."""

from typing import Any

import orjson

from tests.integration.conftest import GENERATION_BODIES, Cluster

NDJSON_BODIES: dict[str, dict[str, Any]] = {
    **GENERATION_BODIES,
    "/api/v1/generate_embedding_batch": {
        "input_batch": [{"id": "1", "content": "Hi"}],
        "normalization_method": "L2",
    },
}
OPENAI_BODIES: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {"model": "m", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1},
    "/v1/completions": {"model": "m", "prompt": "Hi", "max_tokens": 1},
    "/v1/embeddings": {"model": "m", "input": "Hi"},
    "/v1/responses": {"model": "m", "input": "Hi", "max_output_tokens": 16},
}
# What a cross-site form or fetch without a preflight can send, and nothing at all.
NOT_JSON = (
    None,
    "text/plain",
    "text/plain; charset=utf-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/jsonx",
)


def headers_for(content_type: str | None) -> dict[str, str]:
    return {} if content_type is None else {"Content-Type": content_type}


async def test_generation_endpoints_answer_only_json_bodies_with_415_otherwise(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.serve_smollm2()
    endpoints = [(f"{cluster.inference_url}{path}", body) for path, body in NDJSON_BODIES.items()]
    endpoints += [(f"http://{cluster.openai_addr}{path}", body) for path, body in OPENAI_BODIES.items()]

    for url, body in endpoints:
        for content_type in NOT_JSON:
            headers = headers_for(content_type)
            response = await cluster.http.post(url, content=orjson.dumps(body), headers=headers)
            assert response.status_code == 415, (url, content_type, response.text)
            error = response.json()["error"]
            if "/v1/" in url and "/api/v1/" not in url:
                # The OpenAI error shape.
                assert error["type"] == "invalid_request_error", error
                message = error["message"]
            else:
                message = error["description"]
            assert "`Content-Type: application/json`" in message, message

    # A charset (any case) is fine: the request goes through (embeddings are off: 501, not 415).
    for url, body in endpoints:
        response = await cluster.http.post(
            url, content=orjson.dumps(body), headers={"Content-Type": "Application/JSON; charset=utf-8"}
        )
        expected = 501 if "embedding" in url else 200
        assert response.status_code == expected, (url, response.text)
    await cluster.assert_agents_alive_and_serving()
