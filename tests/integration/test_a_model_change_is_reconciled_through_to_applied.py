import asyncio
from typing import Any

import orjson

from tests.integration.conftest import Cluster, smollm2_state
from tests.model_cards import smollm2


async def test_a_model_change_is_reconciled_through_to_applied(cluster: Cluster) -> None:
    await cluster.start_balancer()
    await cluster.serve_smollm2(agents=1)
    # Another path to the same file: a different desired model, loaded quickly.
    other_path = cluster.tmp_path / "other-model.gguf"
    other_path.symlink_to(smollm2())
    seen: list[dict[str, Any]] = []

    async def watch() -> None:
        async with cluster.http.stream("GET", f"{cluster.management_url}/api/v1/agents/stream") as response:
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    agent = orjson.loads(line[6:])["agents"][0]
                    seen.append(agent)
                    applied = agent["state_application_status"] == "Applied"
                    if applied and agent["model_path"] == str(other_path):
                        return

    watching = asyncio.create_task(watch())
    await asyncio.sleep(0)
    state = smollm2_state(context_size=512)
    state["model"] = {"LocalToAgent": str(other_path)}
    await cluster.put_state(state)
    await asyncio.wait_for(watching, 20)

    statuses = [agent["state_application_status"] for agent in seen]
    assert statuses[0] == "Applied"
    assert "Fresh" in statuses[1:]
    assert seen[-1]["slots_total"] == 2
    assert seen[-1]["issues"] == []
    applicable = await cluster.http.get(f"{cluster.management_url}/api/v1/balancer_applicable_state")
    assert applicable.json()["model"] == {"LocalToAgent": str(other_path)}
