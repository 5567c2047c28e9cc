import openai

from tests.integration.conftest import Cluster, fixed_prompt_state, smollm2_state


async def test_one_unpinned_agent_moves_between_two_pools_and_alternating_requests_all_complete(
    cluster: Cluster,
) -> None:
    await cluster.start_balancer(
        "--compat-openai-addr", cluster.openai_addr, "--buffered-request-timeout", "60000"
    )
    # No keep-alive: an idle pool gives its agent up at once.
    await cluster.put_pool("default", {"desired_state": smollm2_state(), "keep_alive_s": 0})
    await cluster.put_pool("fixed", {"desired_state": fixed_prompt_state(), "keep_alive_s": 0})
    cluster.start_agent("only", slots=1)
    await cluster.wait_for_serving_agents(1)
    answers: list[tuple[str, str, str]] = []
    async with openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused", timeout=120) as client:
        for turn, (model, question) in enumerate(
            [
                ("fixed", "Say hello."),
                ("default", "Say hello."),
                ("fixed", "Count to three."),
                ("default", "Count to three."),
            ]
        ):
            completion = await client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": question}], max_tokens=8, temperature=0.0
            )
            answers.append((model, question, completion.choices[0].message.content or f"empty {turn}"))
    metrics = (await cluster.http.get(f"{cluster.management_url}/metrics")).text

    fixed = [text for model, _, text in answers if model == "fixed"]
    default = [text for model, _, text in answers if model == "default"]
    # Each answer came from the pool asked for: the fixed pool's ignores the question.
    assert fixed[0] == fixed[1]
    assert default[0] != default[1]
    assert fixed[0] not in default
    # It starts in default: every request moved it (fixed, default, fixed, default).
    assert 'paddler_pool_placements_total{reason="waiting_requests"} 4.0' in metrics
