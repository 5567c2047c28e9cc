import signal

import orjson
import pytest

from tests.integration.conftest import Cluster, chat_prompt


@pytest.mark.parametrize("stopped", ["agent", "balancer"])
async def test_sigterm_lets_requests_in_flight_finish(cluster: Cluster, stopped: str) -> None:
    await cluster.start_balancer()
    await cluster.serve_smollm2(agents=1, slots=1)
    process = cluster.agents[0] if stopped == "agent" else cluster.balancer
    assert process is not None
    lines = []

    async with cluster.http.stream(
        "POST",
        f"{cluster.inference_url}/api/v1/continue_from_raw_prompt",
        json={"raw_prompt": chat_prompt("Count from one to twenty in words."), "max_tokens": 30},
    ) as response:
        async for raw in response.aiter_lines():
            lines.append(orjson.loads(raw))
            if len(lines) == 1:
                process.popen.send_signal(signal.SIGTERM)

    assert "Done" in lines[-1]["Response"]["response"]["GeneratedToken"]
    assert process.popen.wait(15) == 0
