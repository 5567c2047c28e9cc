import openai
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import Cluster, fixed_prompt_state, smollm2_state


async def test_latency_histograms_are_kept_per_model_pool(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.put_state(smollm2_state())
    await cluster.put_pool("fixed", {"desired_state": fixed_prompt_state()})
    cluster.start_agent("general", slots=1)
    cluster.start_agent("pinned", slots=1, extra=("--pool", "fixed"))
    await cluster.wait_for_serving_agents(2)
    async with openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused") as client:
        for model in ("fixed", "fixed", "default"):
            await client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "Say hello."}], max_tokens=4
            )
    response = await cluster.http.get(f"{cluster.management_url}/metrics")

    counts = {
        (sample.name, sample.labels.get("pool")): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name.endswith("_seconds_count")
    }
    for histogram in ("paddler_queue_wait_seconds", "paddler_time_to_first_token_seconds"):
        assert counts[(f"{histogram}_count", "fixed")] == 2
        assert counts[(f"{histogram}_count", "default")] == 1
