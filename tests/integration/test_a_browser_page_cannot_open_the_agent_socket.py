import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.integration.conftest import Cluster

# Any page the operator visits could try: another site, the panel itself, a sandboxed frame.
BROWSER_ORIGINS = ("https://evil.example", "http://127.0.0.1:8063", "null")


async def test_a_browser_page_cannot_open_the_agent_socket(cluster: Cluster) -> None:
    # No --agent-secret: the Origin check is what stands between a page and the agent socket.
    await cluster.start_balancer("--management-cors-allowed-host", "http://127.0.0.1:8063")
    await cluster.serve_smollm2()
    agent_socket = f"ws://{cluster.management_addr}/api/v1/agent_socket/intruder"

    for origin in BROWSER_ORIGINS:
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(agent_socket, origin=websockets.Origin(origin))
        assert refused.value.response.status_code == 403
        assert b"does not accept browser connections" in refused.value.response.body

    assert [agent["name"] for agent in await cluster.agents_snapshot()] == ["agent-0"]
    assert cluster.balancer is not None
    assert "agent socket refused to a browser page from 'https://evil.example'" in cluster.balancer.output()
    await cluster.assert_agents_alive_and_serving()
