"""A redirect loop is followed 10 times, then reported; the agent keeps
trying with backoff (a loop may be a passing misconfiguration) and serves
again when the desired state changes."""

from tests.hostile_model_server import hostile_model_server
from tests.integration.conftest import Cluster, smollm2_state


async def test_a_url_model_behind_a_redirect_loop_ends_with_an_issue(cluster: Cluster) -> None:
    with hostile_model_server() as server:
        await cluster.start_balancer()
        cluster.start_agent("agent-0")
        looping = server.url("/loop/model.gguf")
        await cluster.put_state({"model": {"Url": {"url": looping}}})
        agents = await cluster.wait_for_agents(
            lambda agents: bool(agents) and bool(agents[0]["issues"]), "the redirect loop to be reported"
        )
        assert agents[0]["issues"] == [
            {"ModelCannotBeDownloaded": f"{looping}: more than 10 redirects (a redirect loop?)"}
        ]
        assert agents[0]["state_application_status"] == "AttemptedAndRetrying"
        # The first request and 10 redirects followed, per attempt.
        assert len(server.paths) >= 11

        await cluster.put_state(smollm2_state())
        await cluster.assert_agents_alive_and_serving()
