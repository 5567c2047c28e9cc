from pathlib import Path
from typing import Any

from tests.integration.conftest import Cluster, smollm2_state


async def test_a_multimodal_projection_that_is_not_there_is_an_issue_not_a_crash(
    cluster: Cluster, tmp_path: Path
) -> None:
    await cluster.start_balancer()
    missing = tmp_path / "missing-mmproj.gguf"
    await cluster.put_state({**smollm2_state(), "multimodal_projection": {"LocalToAgent": str(missing)}})
    cluster.start_agent("agent-0", 1)

    def projection_issue(agents: list[dict[str, Any]]) -> bool:
        return any(
            isinstance(issue, dict) and "MultimodalProjectionCannotBeLoaded" in issue
            for agent in agents
            for issue in agent["issues"]
        )

    agents = await cluster.wait_for_agents(projection_issue, "the projection's issue")

    agent = agents[0]
    issue = next(issue for issue in agent["issues"] if isinstance(issue, dict))
    assert str(missing) in issue["MultimodalProjectionCannotBeLoaded"]
    assert cluster.agents[0].popen.poll() is None
