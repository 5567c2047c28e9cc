import openai

from tests.integration.conftest import Cluster


async def test_the_openai_sdk_streams_and_completes_chats(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.serve_smollm2(agents=1, slots=2)
    client = openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused")
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [
        {"role": "user", "content": "What is the capital of France?"}
    ]

    models = await client.models.list()
    model = models.data[0].id
    completion = await client.chat.completions.create(model=model, messages=messages, max_tokens=6)
    stream = await client.chat.completions.create(
        model=models.data[0].id,
        messages=messages,
        max_completion_tokens=6,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    text = await client.completions.create(model="any", prompt="The capital of France is", max_tokens=3)

    assert [model.id for model in models.data] == ["SmolLM2-135M-Instruct.Q4_1"]
    answer = completion.choices[0].message.content
    assert answer
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 6
    assert completion.choices[0].finish_reason == "length"
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    # Greedy (temperature 0 in the desired state): the same answer either way.
    assert streamed == answer
    assert [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices][-1] == "length"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 6
    assert text.choices[0].text
    assert text.usage is not None
    assert text.usage.completion_tokens == 3
    await client.close()
