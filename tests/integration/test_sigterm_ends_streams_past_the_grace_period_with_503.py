import signal
import time

import orjson

from tests.integration.conftest import Cluster, chat_prompt

# A grammar that never completes: the model cannot end the stream on its own.
ENDLESS = {"type": "gbnf", "grammar": 'root ::= "ab" root', "root": "root"}


async def test_sigterm_ends_streams_past_the_grace_period_with_503(cluster: Cluster) -> None:
    balancer = await cluster.start_balancer("--shutdown-grace-period", "1000")
    await cluster.serve_smollm2(agents=1, slots=1)
    lines = []
    signalled_at = 0.0

    async with cluster.http.stream(
        "POST",
        f"{cluster.inference_url}/api/v1/continue_from_raw_prompt",
        json={"raw_prompt": chat_prompt("Write forever."), "max_tokens": 20_000, "grammar": ENDLESS},
    ) as response:
        async for raw in response.aiter_lines():
            lines.append(orjson.loads(raw))
            if len(lines) == 1:
                balancer.popen.send_signal(signal.SIGTERM)
                signalled_at = time.monotonic()
    ended_after_s = time.monotonic() - signalled_at

    assert "Error" in lines[-1], lines[-3:]
    error = lines[-1]["Error"]["error"]
    assert error["code"] == 503
    assert "shutting down" in error["description"]
    assert len(lines) > 2  # tokens went on during the grace period
    assert ended_after_s < 10
    assert balancer.popen.wait(15) == 0
