import openai

from tests.integration.conftest import Cluster


async def test_openai_per_request_sampling_is_honoured(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.serve_smollm2(agents=1, slots=2)
    client = openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused")
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [
        {"role": "user", "content": "Tell me a story about a cat."}
    ]

    async def answer(**sampling: object) -> str:
        completion = await client.chat.completions.create(
            model="m",
            messages=messages,
            max_tokens=12,
            **sampling,  # type: ignore[call-overload]
        )
        return completion.choices[0].message.content or ""

    greedy = await answer()
    seeded = [await answer(temperature=1.5, seed=seed) for seed in (7, 7, 8)]
    stopped = await answer(stop=[greedy.split()[2]])
    exact = await client.completions.create(
        model="m", prompt="Hello", max_tokens=8, extra_body={"ignore_eos": True}
    )
    await client.close()

    assert seeded[0] == seeded[1]
    assert greedy not in seeded
    assert len(stopped) < len(greedy)
    assert greedy.startswith(stopped)
    assert exact.usage is not None
    assert exact.usage.completion_tokens == 8
