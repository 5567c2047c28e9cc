from tests.integration.conftest import Cluster

TOKEN = "management-token"


async def test_a_management_token_without_an_agent_secret_warns_that_anyone_may_register(
    cluster: Cluster,
) -> None:
    # On loopback, where no other exposure is warned about.
    balancer = await cluster.start_balancer("--management-token", TOKEN)
    cluster.http.headers["Authorization"] = f"Bearer {TOKEN}"
    # What the warning says: an agent with no credential at all joins and is sent work.
    await cluster.serve_smollm2()

    log = balancer.output()
    assert (
        "--management-token is set but --agent-secret is not: anyone who can reach "
        f"{cluster.management_addr} may register as an agent and receive users' prompts"
    ) in log
    assert log.count("--agent-secret") == 1
    await cluster.assert_agents_alive_and_serving()
