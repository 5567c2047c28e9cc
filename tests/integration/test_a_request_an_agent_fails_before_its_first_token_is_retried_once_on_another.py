import orjson

from tests.integration.conftest import Cluster

RETRY_LINE = "before its first token"


async def _generate(cluster: Cluster) -> list[dict[str, object]]:
    response = await cluster.http.post(
        f"{cluster.inference_url}/api/v1/continue_from_raw_prompt", json={"raw_prompt": "hi", "max_tokens": 3}
    )
    assert response.status_code == 200, response.text
    return [orjson.loads(line) for line in response.text.splitlines() if line]


async def test_a_request_an_agent_fails_before_its_first_token_is_served_by_another(cluster: Cluster) -> None:
    balancer = await cluster.start_balancer()
    # The broken agent joins first: ties between idle agents go to it.
    cluster.start_simulated_agents("broken", 1, 4, "--fail-generations")
    await cluster.wait_for_agents(lambda agents: len(agents) == 1, "the broken agent")
    cluster.start_simulated_agents("healthy", 1, 4)
    await cluster.wait_for_agents(lambda agents: len(agents) == 2, "both agents")

    for _ in range(4):
        lines = await _generate(cluster)

        assert "Error" not in lines[-1], lines[-1]
        assert {line["Response"]["generated_by"] for line in lines} == {"healthy-0"}  # type: ignore[index]
    assert RETRY_LINE in balancer.output()


async def test_a_request_that_fails_on_every_agent_is_retried_only_once(cluster: Cluster) -> None:
    balancer = await cluster.start_balancer()
    cluster.start_simulated_agents("broken", 3, 4, "--fail-generations")
    await cluster.wait_for_agents(lambda agents: len(agents) == 3, "the broken agents")

    lines = await _generate(cluster)

    error = lines[-1]["Error"]["error"]  # type: ignore[index]
    assert error["code"] == 500
    assert "simulated failure" in error["description"]
    assert balancer.output().count(RETRY_LINE) == 1
