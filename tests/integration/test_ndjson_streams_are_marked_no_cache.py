"""Paddler marks its NDJSON streams `Cache-Control: no-cache`: a proxy must not keep a generation."""

import pytest

from tests.integration.conftest import GENERATION_BODIES, Cluster


@pytest.mark.parametrize("path", list(GENERATION_BODIES))
async def test_ndjson_streams_are_marked_no_cache(cluster: Cluster, path: str) -> None:
    # No agent: the request waits briefly in the buffer and its stream ends with 504.
    await cluster.start_balancer("--buffered-request-timeout", "100")

    response = await cluster.http.post(f"{cluster.inference_url}{path}", json=GENERATION_BODIES[path])

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
