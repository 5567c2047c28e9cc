from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import Cluster, chat_prompt


async def test_metrics_histograms_count_every_request_and_token(cluster: Cluster) -> None:
    await cluster.start_balancer()
    await cluster.serve_smollm2(agents=1, slots=2)
    token_counts = []
    for max_tokens in (2, 3, 5, 8):
        lines = await cluster.raw_prompt_lines(chat_prompt("Count to ten."), max_tokens=max_tokens)
        token_counts.append(len(lines) - 1)  # every line but the final Done

    response = await cluster.http.get(f"{cluster.management_url}/metrics")

    histograms = {
        family.name: {sample.name: sample for sample in family.samples if "le" not in sample.labels}
        | {f"le={sample.labels['le']}": sample for sample in family.samples if "le" in sample.labels}
        for family in text_string_to_metric_families(response.text)
        if family.type == "histogram"
    }
    queue_wait = histograms["paddler_queue_wait_seconds"]
    first_token = histograms["paddler_time_to_first_token_seconds"]
    between_tokens = histograms["paddler_inter_token_latency_seconds"]
    assert queue_wait["paddler_queue_wait_seconds_count"].value == 4
    assert first_token["paddler_time_to_first_token_seconds_count"].value == 4
    # Every token but each request's first follows a gap.
    expected_gaps = sum(count - 1 for count in token_counts)
    assert between_tokens["paddler_inter_token_latency_seconds_count"].value == expected_gaps
    assert between_tokens["le=+Inf"].value == expected_gaps
    assert first_token["paddler_time_to_first_token_seconds_sum"].value > 0
