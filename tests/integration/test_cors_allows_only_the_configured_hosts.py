from tests.integration.conftest import Cluster

ALLOWED = "http://panel.example"


async def test_cors_allows_only_the_configured_hosts(cluster: Cluster) -> None:
    await cluster.start_balancer(
        "--management-cors-allowed-host", ALLOWED, "--inference-cors-allowed-host", ALLOWED
    )
    preflight = {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"}

    for url in (
        f"{cluster.management_url}/api/v1/balancer_desired_state",
        f"{cluster.inference_url}/api/v1/continue_from_raw_prompt",
    ):
        allowed = await cluster.http.options(url, headers={"Origin": ALLOWED, **preflight})
        refused = await cluster.http.options(url, headers={"Origin": "http://elsewhere.example", **preflight})

        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == ALLOWED
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
