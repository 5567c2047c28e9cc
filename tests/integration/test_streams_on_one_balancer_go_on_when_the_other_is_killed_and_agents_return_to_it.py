"""Balancer A is SIGKILLed while balancer B streams: B's streams all finish whole, agents keep
serving B, and they connect to A again when it comes back."""

import asyncio
import signal

from tests.integration.conftest import chat_prompt
from tests.integration.ha_cluster import HaCluster, needs_etcd

pytestmark = needs_etcd

MAX_TOKENS = 48


async def test_streams_on_one_balancer_go_on_when_the_other_is_killed_and_agents_return_to_it(
    ha: HaCluster,
) -> None:
    await ha.serve_smollm2(agents=2, slots=2)
    streams = [
        asyncio.create_task(ha.b.raw_prompt_lines(chat_prompt(f"Tell a long story, {i}."), MAX_TOKENS))
        for i in range(6)
    ]
    await asyncio.sleep(0.5)
    assert ha.a.balancer is not None
    ha.a.balancer.stop(signal.SIGKILL)

    answers = await asyncio.gather(*streams)

    for lines in answers:
        done = lines[-1]["Response"]["response"]["GeneratedToken"]["Done"]
        assert done["usage"]["content_tokens"] == MAX_TOKENS
    after = await ha.b.raw_prompt_lines(chat_prompt("One more."), max_tokens=4)
    assert "Done" in after[-1]["Response"]["response"]["GeneratedToken"]

    await ha.start_balancer(ha.a)
    await ha.wait_serving(ha.a, agents=2, slots=2)
    back = await ha.a.raw_prompt_lines(chat_prompt("Hello again."), max_tokens=4)
    assert "Done" in back[-1]["Response"]["response"]["GeneratedToken"]
