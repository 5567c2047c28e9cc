"""etcd stops: both balancers go on serving with the state they saw, refuse state changes with
503 naming etcd and say so in /health?detail; once etcd is back, a change applies everywhere."""

from typing import Any

from tests.integration.conftest import chat_prompt, smollm2_state, wait_until
from tests.integration.ha_cluster import HaCluster, needs_etcd

pytestmark = needs_etcd


async def test_serving_goes_on_while_etcd_is_down_and_state_changes_get_503_until_it_returns(
    ha: HaCluster,
) -> None:
    await ha.serve_smollm2(agents=1, slots=2)
    ha.etcd.stop()

    async def degraded() -> bool:
        views = [await ha.cluster_view(balancer) for balancer in (ha.a, ha.b)]
        return all(view["status"] == "degraded" for view in views)

    await wait_until(degraded, 10, "both balancers to report etcd unreachable")
    for balancer in (ha.a, ha.b):
        lines = await balancer.raw_prompt_lines(chat_prompt("Still there?"), max_tokens=4)
        assert "Done" in lines[-1]["Response"]["response"]["GeneratedToken"]
    changed = smollm2_state(temperature=0.5)
    refused = await ha.a.http.put(f"{ha.a.management_url}/api/v1/balancer_desired_state", json=changed)
    assert refused.status_code == 503
    assert "etcd" in refused.json()["error"]["description"]
    view = await ha.cluster_view(ha.b)
    assert view["state_database"] == {"kind": "etcd", "reachable": False}
    # The details (behind the management token, when there is one) name etcd and why.
    detail = (await ha.b.http.get(f"{ha.b.management_url}/api/v1/cluster")).json()
    assert ha.etcd.endpoint in detail["state_database"]["error"]

    await ha.etcd.start()

    async def healthy() -> bool:
        views = [await ha.cluster_view(balancer) for balancer in (ha.a, ha.b)]
        return all(view["status"] == "ok" for view in views)

    await wait_until(healthy, 15, "both balancers to reach etcd again")
    await ha.a.put_state(changed)

    async def seen_through_b() -> bool:
        response = await ha.b.http.get(f"{ha.b.management_url}/api/v1/balancer_desired_state")
        shown: dict[str, Any] = response.json()
        return bool(shown["inference_parameters"]["temperature"] == 0.5)

    await wait_until(seen_through_b, 5, "balancer B to show the change made through A")
