import time

from tests.integration.conftest import Cluster, chat_prompt


async def test_a_buffered_wait_times_out_with_504(cluster: Cluster) -> None:
    await cluster.start_balancer("--buffered-request-timeout", "300")
    started = time.monotonic()

    lines = await cluster.raw_prompt_lines(chat_prompt("Hi"), max_tokens=2)

    assert time.monotonic() - started < 3
    assert len(lines) == 1
    assert lines[0]["Error"]["error"] == {"code": 504, "description": "timed out waiting for a free slot"}
