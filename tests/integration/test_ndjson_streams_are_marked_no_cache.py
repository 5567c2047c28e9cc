"""Paddler marks its NDJSON streams `Cache-Control: no-cache`: a proxy must not keep a generation."""

import pytest

from tests.integration.conftest import Cluster

BODIES = {
    "/api/v1/continue_from_raw_prompt": {"raw_prompt": "Hi", "max_tokens": 1},
    "/api/v1/continue_from_conversation_history": {
        "add_generation_prompt": True,
        "conversation_history": [{"role": "user", "content": "Hi"}],
        "enable_thinking": False,
        "max_tokens": 1,
    },
}


@pytest.mark.parametrize("path", list(BODIES))
async def test_ndjson_streams_are_marked_no_cache(cluster: Cluster, path: str) -> None:
    # No agent: the request waits briefly in the buffer and its stream ends with 504.
    await cluster.start_balancer("--buffered-request-timeout", "100")

    response = await cluster.http.post(f"{cluster.inference_url}{path}", json=BODIES[path])

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
