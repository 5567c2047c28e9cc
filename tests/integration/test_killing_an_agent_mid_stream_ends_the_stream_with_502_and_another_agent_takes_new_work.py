import signal
import time

import orjson

from tests.integration.conftest import Cluster, chat_prompt, token_text


async def test_killing_an_agent_mid_stream_ends_the_stream_with_502_and_another_agent_takes_new_work(
    cluster: Cluster,
) -> None:
    await cluster.start_balancer()
    await cluster.serve_smollm2(agents=2, slots=1)
    names = [agent["name"] for agent in await cluster.agents_snapshot()]
    lines: list[dict[str, object]] = []
    killed_at = 0.0
    survivor = ""

    async with cluster.http.stream(
        "POST",
        f"{cluster.inference_url}/api/v1/continue_from_raw_prompt",
        json={"raw_prompt": chat_prompt("Count from one to one hundred in words."), "max_tokens": 400},
    ) as response:
        async for raw in response.aiter_lines():
            line = orjson.loads(raw)
            lines.append(line)
            if len(lines) == 1:
                serving_name = line["Response"]["generated_by"]
                survivor = next(name for name in names if name != serving_name)
                victim = cluster.agents[int(serving_name.rsplit("-", 1)[1])]
                victim.popen.send_signal(signal.SIGKILL)
                killed_at = time.monotonic()
        ended_at = time.monotonic()

    assert ended_at - killed_at < 1.0
    assert lines[-1]["Error"]["error"]["code"] == 502  # type: ignore[index]
    after = await cluster.raw_prompt_lines(chat_prompt("Say hello."), max_tokens=4)
    assert token_text(after)
    assert {line["Response"]["generated_by"] for line in after} == {survivor}
