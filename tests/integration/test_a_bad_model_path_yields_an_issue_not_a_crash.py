from tests.integration.conftest import Cluster, smollm2_state


async def test_a_bad_model_path_yields_an_issue_not_a_crash(cluster: Cluster) -> None:
    await cluster.start_balancer()
    agent = cluster.start_agent("agent-0")
    missing = str(cluster.tmp_path / "missing.gguf")
    not_a_model = cluster.tmp_path / "not-a-model.gguf"
    not_a_model.write_bytes(b"this is not a GGUF file" * 100)

    await cluster.put_state({"model": {"LocalToAgent": missing}})
    agents = await cluster.wait_for_agents(
        lambda agents: bool(agents) and agents[0]["issues"] == [{"ModelFileDoesNotExist": missing}],
        "the missing file reported as an issue",
    )
    assert agents[0]["state_application_status"] == "AttemptedAndRetrying"
    assert agents[0]["slots_total"] == 0

    await cluster.put_state({"model": {"LocalToAgent": str(not_a_model)}})
    await cluster.wait_for_agents(
        lambda agents: (
            bool(agents) and len(agents[0]["issues"]) == 1 and "ModelCannotBeLoaded" in agents[0]["issues"][0]
        ),
        "the unloadable file reported as an issue",
    )

    await cluster.put_state(smollm2_state())
    agents = await cluster.wait_for_serving_agents(1)
    assert agents[0]["issues"] == []
    assert agent.popen.poll() is None
