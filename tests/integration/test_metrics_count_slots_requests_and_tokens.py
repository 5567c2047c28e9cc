from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import Cluster, chat_prompt, wait_until


async def test_metrics_count_slots_requests_and_tokens(cluster: Cluster) -> None:
    await cluster.start_balancer()
    await cluster.serve_smollm2(agents=1, slots=2)
    lines = await cluster.raw_prompt_lines(chat_prompt("Say hello."), max_tokens=4)

    async def samples_once_the_slot_is_free() -> dict[tuple[str, tuple[Any, ...]], float] | None:
        # The agent reports its freed slot in a status update that may trail the last token.
        response = await cluster.http.get(f"{cluster.management_url}/metrics")
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
        }
        return samples if samples[("paddler_slots_processing", ())] == 0 else None

    samples = await wait_until(samples_once_the_slot_is_free, timeout_s=5, what="the slot to be free")
    assert samples[("paddler_slots_total", ())] == 2
    assert samples[("paddler_requests_buffered", ())] == 0
    assert samples[("paddler_requests_total", (("outcome", "ok"), ("pool", "default")))] == 1
    assert samples[("paddler_tokens_generated_total", ())] == len(lines) - 1
    assert samples[("paddler_time_to_first_token_seconds_count", (("pool", "default"),))] == 1
    assert samples[("paddler_queue_wait_seconds_count", (("pool", "default"),))] == 1
