import httpx
import pytest

from tests.integration.conftest import Cluster


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("PUT", "/api/v1/pools/bad%20name", {}, 400, "is not valid"),
        (
            "PUT",
            "/api/v1/pools/x",
            {"min_agents": 3, "max_agents": 1},
            400,
            "min_agents (3) is above max_agents",
        ),
        ("PUT", "/api/v1/pools/x", {"colour": "red"}, 400, "unknown field `colour`"),
        ("PUT", "/api/v1/pools/x", {"aliases": ["default"]}, 409, "already selects the model pool 'default'"),
        ("DELETE", "/api/v1/pools/default", None, 409, "cannot be deleted"),
        ("DELETE", "/api/v1/pools/nowhere", None, 404, "no model pool named 'nowhere'"),
        ("GET", "/api/v1/pools/nowhere", None, 404, "no model pool named 'nowhere'"),
    ],
)
async def test_pool_changes_that_cannot_be_made_are_refused_with_a_message(
    cluster: Cluster, method: str, path: str, body: object, status: int, message: str
) -> None:
    await cluster.start_balancer()

    response: httpx.Response = await cluster.http.request(
        method, f"{cluster.management_url}{path}", json=body
    )

    assert response.status_code == status, response.text
    assert message in response.text
    assert set(await cluster.pools_by_name()) == {"default"}
