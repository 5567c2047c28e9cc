import orjson

from tests.integration.conftest import Cluster, chat_prompt, smollm2_state, wait_until

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


def _json_lines(text: str) -> list[dict[str, object]]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(orjson.loads(line))
    return lines


async def test_a_traceparent_is_in_both_json_logs_and_comes_back_in_the_response(cluster: Cluster) -> None:
    balancer = await cluster.start_balancer(
        "--log-format", "json", "--compat-openai-addr", cluster.openai_addr
    )
    await cluster.put_state(smollm2_state())
    agent = cluster.start_agent("agent-0", 1, extra=("--log-format", "json"))
    await cluster.wait_for_serving_agents(1)

    response = await cluster.http.post(
        f"{cluster.inference_url}/api/v1/continue_from_raw_prompt",
        json={"raw_prompt": chat_prompt("Hi."), "max_tokens": 2},
        headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"},
    )
    openai = await cluster.http.post(
        f"{cluster.openai_url}/chat/completions",
        json={"messages": [{"role": "user", "content": "Hi."}], "max_tokens": 2},
        headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"},
    )

    assert response.status_code == openai.status_code == 200
    spans = []
    for answer in (response, openai):
        _, trace_id, balancer_span, _ = answer.headers["traceparent"].split("-")
        assert trace_id == CALLER_TRACE
        assert balancer_span != CALLER_SPAN
        spans.append(balancer_span)

    async def request_lines_on_both_sides() -> bool:
        balancer_lines = [line for line in _json_lines(balancer.output()) if line.get("span_id") in spans]
        agent_lines = [line for line in _json_lines(agent.output()) if line.get("parent_span_id") in spans]
        return len(balancer_lines) == len(agent_lines) == 2

    await wait_until(request_lines_on_both_sides, timeout_s=5, what="a log line per request on both sides")
    for line in _json_lines(balancer.output()) + _json_lines(agent.output()):
        if line.get("span_id") in spans or line.get("parent_span_id") in spans:
            assert line["trace_id"] == CALLER_TRACE
            assert line["outcome"] == "ok"
