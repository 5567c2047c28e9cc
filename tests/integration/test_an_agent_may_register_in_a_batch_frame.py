from typing import Any

import orjson
from websockets.asyncio.client import connect

from tests.integration.conftest import Cluster, wait_until


def notification(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


async def test_an_agent_may_register_in_a_batch_frame(cluster: Cluster) -> None:
    await cluster.start_balancer()
    status: dict[str, Any] = {
        "slots_processing": 0,
        "slots_total": 3,
        "desired_slots_total": 3,
        "download_current": 0,
        "download_total": 0,
        "download_filename": None,
        "download_indeterminate": False,
        "issues": [],
        "model_path": "/models/batched.gguf",
        "state_application_status": "Applied",
        "uses_chat_template_override": False,
    }
    frame = [
        notification("register_agent", {"name": "batched", "desired_slots_total": 3}),
        notification("update_agent_status", {"version": 1, "status": status}),
    ]
    url = f"ws://{cluster.management_url.removeprefix('http://')}/api/v1/agent_socket/batched-agent"
    async with connect(url) as agent:
        await agent.send(orjson.dumps(frame).decode())

        async def listed() -> list[dict[str, Any]]:
            return [
                a for a in await cluster.agents_snapshot() if a["name"] == "batched" and a["slots_total"] == 3
            ]

        [listed_agent] = await wait_until(listed, what="the batched agent with its status")
        assert listed_agent["model_path"] == "/models/batched.gguf"
